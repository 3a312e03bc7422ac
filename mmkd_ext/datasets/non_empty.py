"""A clear error for a dataset whose annotation file yields no samples.

MMEngine's ``BaseDataset`` accepts an empty ``data_list`` and then fails inside its
serialisation with numpy's "need at least one array to concatenate". Datasets that mix
in :class:`NonEmptyDatasetMixin` check right after loading and filtering (the load step
of ``BaseDataset.full_init``) and raise a ``ValueError`` naming the dataset class,
``ann_file`` and ``data_root``.
"""

__all__ = ['NonEmptyDatasetMixin']


class NonEmptyDatasetMixin:
    """Put before an MMEngine ``BaseDataset`` subclass in the bases."""

    def filter_data(self):
        data_list = super().filter_data()
        if len(data_list) == 0:
            raise ValueError(
                f'{type(self).__name__}: the dataset is empty: ann_file '
                f'"{self.ann_file}" (data_root "{self.data_root}") gave no samples '
                '(after filtering); expected at least one image with annotations')
        return data_list
