# TSM-R50 (Lin et al., ICCV 2019) per-frame features -> 2-layer bidirectional
# LSTM -> temporal mean -> EPIC classifiers. num_segments must match the
# frames sampled per clip. ImageNet weights: backbone.pretrained=
# 'torchvision://resnet50' with backbone.pretrained2d=True.
num_segments = 8
model = dict(
    type='Recognizer2D',
    backbone=dict(type='ResNetTSM', pretrained=None, pretrained2d=False, depth=50,
                  norm_eval=False,
                  shift_div=8, num_segments=num_segments),
    cls_head=dict(type='EpicActionHead', in_channels=2048,
                  temporal=dict(type='lstm', num_segments=num_segments,
                                hidden_size=512, num_layers=2, bidirectional=True,
                                dropout=0.2, pooling='mean'),
                  dropout_ratio=0.5, label_smooth_eps=0.1, average_clips='prob'),
    data_preprocessor=dict(type='ActionDataPreprocessor', mean=[123.675, 116.28, 103.53],
                           std=[58.395, 57.12, 57.375], format_shape='NCHW'))
