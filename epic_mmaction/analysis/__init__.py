"""Analysis of results files and training logs: confusion matrices, per-class
precision/recall, per-narration (or, for single-label runs, per-clip) predictions
and training curves.

Plots use matplotlib's Agg canvas directly (no pyplot, no display needed);
every file is written atomically, so a crash never leaves half a PNG or CSV.
"""
from .confusion import (confusion_matrix, plot_confusion, top_classes, top_n_view,
                        write_confusion_csv)
from .curves import (Curve, CurveLogError, TrainingLog, curve_panels, plot_curves,
                     read_training_log)
from .labels import ResolvedLabels, resolve_labels
from .per_class import per_class_table, write_per_class_csv
from .predictions import clip_predictions_table, predictions_table, write_predictions_csv

__all__ = [
    'confusion_matrix', 'top_classes', 'top_n_view', 'plot_confusion', 'write_confusion_csv',
    'per_class_table', 'write_per_class_csv', 'predictions_table', 'write_predictions_csv',
    'ResolvedLabels', 'resolve_labels',
    'TrainingLog', 'CurveLogError', 'read_training_log', 'plot_curves',
    'clip_predictions_table', 'Curve', 'curve_panels'
]
