# X3D-S (Feichtenhofer, CVPR 2020) with the EPIC head. pretrained=None: set a
# Kinetics checkpoint with `load_from` (path or URL) to fine-tune from it.
model = dict(
    type='Recognizer3D',
    backbone=dict(type='X3D', gamma_w=1, gamma_b=2.25, gamma_d=2.2),
    cls_head=dict(type='EpicActionHead', in_channels=432, mid_channels=2048,
                  dropout_ratio=0.5, label_smooth_eps=0.1, average_clips='prob'),
    data_preprocessor=dict(type='ActionDataPreprocessor', mean=[114.75] * 3,
                           std=[57.38] * 3, format_shape='NCTHW'))
