"""Build a small COCO-format detection set from scikit-learn's bundled digits.

Each image is a black ``canvas_size`` x ``canvas_size`` RGB canvas with
``min_digits``..``max_digits`` non-overlapping digits (8x8 originals upscaled to a
random side in [``min_size``, ``max_size``], tinted with a random colour). Boxes are the
exact ink extent (pixels > 0) of each placed digit, in COCO xywh. Categories are the
ten digits ``'0'``..``'9'`` (COCO ids 1..10). Train and val images use disjoint halves
of the 1797 digits. Everything is deterministic for a given ``seed``.

    python tools/dataset_converters/make_digits_coco.py --out-dir data/digits_coco

Output: ``OUT/annotations/instances_{train,val}.json``, ``OUT/{train,val}/*.png`` and
``OUT/manifest.json`` (the generation parameters). Tools that reuse a set
(``tools/demo.py``, ``tools/benchmark/digits_det.py``) call :func:`prepare_digits_coco`,
which rebuilds a set whose manifest differs from what is asked and refuses a folder
without one, instead of silently training on whatever was left there.
"""
import argparse
import json
import os
import os.path as osp
import shutil

import numpy as np
from PIL import Image

CLASSES = tuple(str(i) for i in range(10))
MANIFEST = 'manifest.json'


def _check(canvas_size, min_digits, max_digits, min_size, max_size):
    if not 1 <= min_digits <= max_digits:
        raise ValueError(f'digits per image: need 1 <= min_digits ({min_digits}) <= '
                         f'max_digits ({max_digits})')
    if not 8 <= min_size <= max_size:
        raise ValueError(f'digit size: need 8 <= min_size ({min_size}) <= max_size '
                         f'({max_size})')
    if max_size > canvas_size:
        raise ValueError(f'canvas_size {canvas_size} is too small for digits of up '
                         f'to max_size {max_size} pixels')
    # rough packing bound: the digits' squares must fit with room to spare
    if max_digits * max_size**2 > 0.6 * canvas_size**2:
        raise ValueError(
            f'canvas_size {canvas_size} is too small for {max_digits} digits of up to '
            f'{max_size} px (their area {max_digits * max_size**2} exceeds 60% of '
            f'the canvas {canvas_size**2}); enlarge --canvas-size or lower '
            '--max-digits / --max-size')


def _render(digit, size, color):
    """(8, 8) values 0..16 -> (size, size, 3) uint8 tinted patch and its ink box."""
    img = Image.fromarray((digit * (255 / 16)).astype(np.uint8))
    patch = np.asarray(img.resize((size, size), Image.BILINEAR), dtype=np.float32)
    rgb = (patch[..., None] * np.asarray(color, np.float32)[None, None] / 255)
    rgb = rgb.astype(np.uint8)
    ys, xs = np.nonzero(rgb.max(-1) > 0)  # exact extent of the visible ink
    box = (xs.min(), ys.min(), xs.max() + 1, ys.max() + 1)
    return rgb, box


def _compose(images, labels, canvas_size, min_digits, max_digits, min_size, max_size,
             rng):
    """One canvas with 1..max_digits non-overlapping digits: ``(canvas, placed)``, or
    ``None`` when a digit found no free place in 100 random positions."""
    canvas = np.zeros((canvas_size, canvas_size, 3), np.uint8)
    placed = []
    for _ in range(int(rng.integers(min_digits, max_digits + 1))):
        idx = int(rng.integers(len(images)))
        size = int(rng.integers(min_size, max_size + 1))
        color = rng.integers(96, 256, size=3)
        patch, (x1, y1, x2, y2) = _render(images[idx], size, color)
        for _try in range(100):
            ox = int(rng.integers(0, canvas_size - size + 1))
            oy = int(rng.integers(0, canvas_size - size + 1))
            box = (ox + x1, oy + y1, ox + x2, oy + y2)
            if all(box[0] >= b[2] + 1 or box[2] + 1 <= b[0] or box[1] >= b[3] +
                   1 or box[3] + 1 <= b[1] for b, _ in placed):
                break
        else:
            return None
        region = canvas[oy:oy + size, ox:ox + size]
        np.maximum(region, patch, out=region)
        placed.append((box, int(labels[idx])))
    return canvas, placed


def _make_split(images, labels, num_images, canvas_size, min_digits, max_digits, min_size,
                max_size, rng, img_dir, file_prefix):
    os.makedirs(img_dir, exist_ok=True)
    coco_images, annotations = [], []
    for img_id in range(1, num_images + 1):
        # a crowded draw (e.g. three 24 px digits on 64 px) is drawn again: with
        # large splits some image always is (200 val images did not build)
        for _attempt in range(100):
            composed = _compose(images, labels, canvas_size, min_digits, max_digits,
                                min_size, max_size, rng)
            if composed is not None:
                break
        else:
            raise ValueError(
                f'could not place {max_digits} digits of up to {max_size}px without '
                f'overlap on a {canvas_size}px canvas in 100 draws: the canvas is too '
                'small for its digits (enlarge --canvas-size)')
        canvas, placed = composed
        file_name = f'{file_prefix}{img_id:06d}.png'
        Image.fromarray(canvas).save(osp.join(img_dir, file_name))
        coco_images.append(
            dict(id=img_id, file_name=file_name, width=canvas_size, height=canvas_size))
        for box, label in placed:
            w, h = box[2] - box[0], box[3] - box[1]
            annotations.append(
                dict(
                    id=len(annotations) + 1,
                    image_id=img_id,
                    category_id=label + 1,
                    bbox=[int(box[0]), int(box[1]),
                          int(w), int(h)],
                    area=int(w * h),
                    iscrowd=0))
    return coco_images, annotations


def make_digits_coco(out_dir,
                     num_train=200,
                     num_val=50,
                     canvas_size=64,
                     min_digits=1,
                     max_digits=3,
                     min_size=12,
                     max_size=24,
                     seed=0):
    """Write the dataset and its manifest; returns ``{'train': json_path, 'val':
    json_path}``."""
    from sklearn.datasets import load_digits
    _check(canvas_size, min_digits, max_digits, min_size, max_size)
    params = _params(num_train, num_val, canvas_size, min_digits, max_digits, min_size,
                     max_size, seed)
    digits = load_digits()
    half = len(digits.images) // 2
    sources = dict(
        train=(digits.images[:half], digits.target[:half]),
        val=(digits.images[half:], digits.target[half:]))
    categories = [
        dict(id=i + 1, name=name, supercategory='digit') for i, name in enumerate(CLASSES)
    ]
    ann_dir = osp.join(out_dir, 'annotations')
    os.makedirs(ann_dir, exist_ok=True)
    paths = {}
    for split_id, (split, num) in enumerate((('train', num_train), ('val', num_val))):
        rng = np.random.default_rng([seed, split_id])
        images, annotations = _make_split(*sources[split], num, canvas_size, min_digits,
                                          max_digits, min_size, max_size, rng,
                                          osp.join(out_dir, split), f'{split}_')
        paths[split] = osp.join(ann_dir, f'instances_{split}.json')
        with open(paths[split], 'w') as f:
            json.dump(
                dict(
                    images=images,
                    annotations=annotations,
                    categories=categories,
                    info=dict(description='mmkd_ext digits detection', seed=seed)), f)
    with open(osp.join(out_dir, MANIFEST), 'w') as f:
        json.dump(params, f, indent=1, sort_keys=True)
    return paths


def _params(num_train, num_val, canvas_size, min_digits, max_digits, min_size, max_size,
            seed):
    return dict(
        generator='tools/dataset_converters/make_digits_coco.py',
        num_train=int(num_train),
        num_val=int(num_val),
        canvas_size=int(canvas_size),
        min_digits=int(min_digits),
        max_digits=int(max_digits),
        min_size=int(min_size),
        max_size=int(max_size),
        seed=int(seed))


def prepare_digits_coco(out_dir, num_train=200, num_val=50, log=print, **kwargs):
    """The set in ``out_dir`` with exactly these parameters (``make_digits_coco``'s).

    Reuses the folder when its manifest equals the request; rebuilds it (its splits,
    annotations and manifest) when the manifest differs, logging what changed; builds it
    when the folder is absent or empty. A folder with files but no manifest (made by
    something else, or by an older version) is refused with a ``RuntimeError`` that
    names it: nothing of unknown origin is deleted or trained on.
    """
    want = _params(
        num_train, num_val, **{
            **dict(
                canvas_size=64,
                min_digits=1,
                max_digits=3,
                min_size=12,
                max_size=24,
                seed=0),
            **kwargs
        })
    manifest = osp.join(out_dir, MANIFEST)
    if osp.isfile(manifest):
        with open(manifest) as f:
            have = json.load(f)
        if have == want:
            log(f'reusing the digits detection set in {out_dir} ({MANIFEST} matches)')
            return {
                split: osp.join(out_dir, 'annotations', f'instances_{split}.json')
                for split in ('train', 'val')
            }
        changed = ', '.join(f'{k} {have.get(k)} -> {v}' for k, v in want.items()
                            if have.get(k) != v)
        log(f'rebuilding the digits detection set in {out_dir} ({changed})')
        for sub in ('train', 'val', 'annotations'):
            shutil.rmtree(osp.join(out_dir, sub), ignore_errors=True)
        os.remove(manifest)
    elif osp.isdir(out_dir) and os.listdir(out_dir):
        raise RuntimeError(
            f'{out_dir} exists but has no {MANIFEST}: it was not made by this version of '
            f'make_digits_coco.py, so its size and parameters are unknown. Delete it or '
            f'choose another data root (--data-root).')
    else:
        log(f'building the digits detection set in {out_dir}')
    args = {k: v for k, v in want.items() if k != 'generator'}
    return make_digits_coco(out_dir, **args)


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--out-dir', default='data/digits_coco')
    p.add_argument('--num-train', type=int, default=200)
    p.add_argument('--num-val', type=int, default=50)
    p.add_argument('--canvas-size', type=int, default=64)
    p.add_argument('--min-digits', type=int, default=1)
    p.add_argument('--max-digits', type=int, default=3)
    p.add_argument('--min-size', type=int, default=12)
    p.add_argument('--max-size', type=int, default=24)
    p.add_argument('--seed', type=int, default=0)
    return p.parse_args(argv)


def main(argv=None):
    a = parse_args(argv)
    paths = make_digits_coco(a.out_dir, a.num_train, a.num_val, a.canvas_size,
                             a.min_digits, a.max_digits, a.min_size, a.max_size, a.seed)
    for split, path in paths.items():
        print(f'{split}: {path}')


if __name__ == '__main__':
    main()
