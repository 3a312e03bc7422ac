"""MMDetection's ``CocoDataset`` that refuses an annotation file without samples."""
from mmdet.datasets import CocoDataset
from mmdet.registry import DATASETS

from .non_empty import NonEmptyDatasetMixin


@DATASETS.register_module()
class StrictCocoDataset(NonEmptyDatasetMixin, CocoDataset):
    """:class:`mmdet.datasets.CocoDataset` (same arguments) raising a ``ValueError``
    that names ``ann_file`` when the file gives no samples, instead of numpy's "need
    at least one array to concatenate" deep inside MMEngine. Used by the digits COCO
    detection configs."""
