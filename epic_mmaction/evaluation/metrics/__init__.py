"""MMAction2 metrics: the EPIC metric, single-label accuracy and loss, and the
``--dump`` results writers."""
from ...compat import apply_all

apply_all()  # before the first `import mmaction.models`

from .dump import DumpClipResults, DumpEpicResults, DumpResults  # noqa: E402
from .epic_metric import EpicActionMetric  # noqa: E402
from .labelled_acc import LabelledAccMetric  # noqa: E402
from .val_loss import ClassificationLossMetric  # noqa: E402

__all__ = [
    'DumpResults', 'DumpEpicResults', 'DumpClipResults', 'EpicActionMetric',
    'LabelledAccMetric', 'ClassificationLossMetric'
]
