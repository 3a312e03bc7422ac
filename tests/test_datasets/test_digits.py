import numpy as np
import pytest

from mmkd_ext.datasets import DigitsDataset, digits_split_indices


def test_sizes_and_samples():
    train = DigitsDataset(split='train')
    test = DigitsDataset(split='test')
    assert len(train) == 1437 and len(test) == 360
    assert len(DigitsDataset(split='all')) == 1797
    info = train.get_data_info(0)
    assert info['img'].shape == (32, 32, 3) and info['img'].dtype == np.uint8
    assert 0 <= info['gt_label'] < 10
    assert train.metainfo['classes'] == tuple(str(i) for i in range(10))


def test_split_is_deterministic_disjoint_and_stratified():
    tr1, te1 = digits_split_indices('train'), digits_split_indices('test')
    tr2, te2 = digits_split_indices('train'), digits_split_indices('test')
    np.testing.assert_array_equal(tr1, tr2)
    np.testing.assert_array_equal(te1, te2)
    assert not set(tr1) & set(te1) and len(tr1) + len(te1) == 1797
    from sklearn.datasets import load_digits
    y = load_digits().target
    ptr = np.bincount(y[tr1], minlength=10) / len(tr1)
    pte = np.bincount(y[te1], minlength=10) / len(te1)
    # stratified: class proportions agree to within one image per class
    assert np.abs(ptr - pte).max() < 1.5 / len(te1) * 2


def test_pixel_range_and_upsampling():
    ds = DigitsDataset(split='test', img_size=16)
    imgs = np.stack([ds.get_data_info(i)['img'] for i in range(len(ds))])
    assert imgs.shape[1:] == (16, 16, 3)
    assert imgs.min() == 0 and imgs.max() == 255
    assert (imgs[..., 0] == imgs[..., 2]).all()  # grey copied to RGB


def test_subset_is_seeded():
    a = DigitsDataset(split='train', subset_ratio=0.1, subset_seed=3)
    b = DigitsDataset(split='train', subset_ratio=0.1, subset_seed=3)
    c = DigitsDataset(split='train', subset_ratio=0.1, subset_seed=4)
    assert len(a) == 144
    la = [a.get_data_info(i)['gt_label'] for i in range(len(a))]
    assert la == [b.get_data_info(i)['gt_label'] for i in range(len(b))]
    assert not all((a.get_data_info(i)['img'] == c.get_data_info(i)['img']).all()
                   for i in range(len(a)))


@pytest.mark.parametrize('kwargs, key', [
    (dict(split='val'), 'split'),
    (dict(img_size=4), 'img_size'),
    (dict(subset_ratio=0.0), 'subset_ratio'),
])
def test_bad_arguments_name_the_key(kwargs, key):
    with pytest.raises(ValueError, match=key):
        DigitsDataset(**kwargs)


# -- bad inputs (docs/bad_inputs.md) ----------------------------------------------------
@pytest.mark.parametrize('kwargs,names', [
    (dict(split='val'), ["'train'", "'val'"]),
    (dict(subset_ratio=0.0), ['subset_ratio', '(0, 1]']),
    (dict(img_size=4), ['img_size', '>= 8']),
])
def test_b34_digits_dataset_bad_arguments(kwargs, names, raises):
    raises(ValueError, lambda: DigitsDataset(**kwargs), *names)
