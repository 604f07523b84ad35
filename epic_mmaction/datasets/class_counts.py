"""Give a config's segment datasets the class counts of its model's head.

A list row whose class the head cannot predict otherwise fails in the loss
(``IndexError: Target 50 is out of bounds``, a device-side assert on a GPU)
or in the metric at the end of a test; with the counts, the dataset refuses
it when it loads, naming the list line. The tools fill them from the model
the config builds (after ``--cfg-options``), so configs need not repeat them.
"""
from typing import Iterator, Optional

__all__ = ['fill_class_counts']

LOADERS = ('train_dataloader', 'val_dataloader', 'test_dataloader')
DATASET_TYPE = 'EpicSegmentVideoDataset'


def _segment_datasets(dataset) -> Iterator[dict]:
    """The ``EpicSegmentVideoDataset`` configs in a dataset config, wrappers included."""
    if not hasattr(dataset, 'get'):
        return
    if str(dataset.get('type', '')).split('.')[-1] == DATASET_TYPE:
        yield dataset
    if dataset.get('dataset') is not None:  # RepeatDataset, ClassBalancedDataset
        yield from _segment_datasets(dataset['dataset'])
    for inner in dataset.get('datasets') or []:  # ConcatDataset
        yield from _segment_datasets(inner)


def fill_class_counts(cfg, num_verbs: Optional[int] = None, num_nouns: Optional[int] = None,
                      num_classes: Optional[int] = None) -> int:
    """Set the given counts on every segment dataset of ``cfg``'s loaders.

    Returns how many dataset configs were filled.
    """
    counts = {k: v for k, v in dict(num_verbs=num_verbs, num_nouns=num_nouns,
                                    num_classes=num_classes).items() if v is not None}
    filled = 0
    for key in LOADERS:
        loader = cfg.get(key)
        if not counts or not loader or not hasattr(loader, 'get'):
            continue
        for dataset in _segment_datasets(loader.get('dataset')):
            dataset.update(counts)
            filled += 1
    return filled
