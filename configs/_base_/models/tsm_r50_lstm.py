# TSM-R50 (Lin et al., ICCV 2019), MMAction2's base, per-frame features ->
# 2-layer bidirectional LSTM -> temporal mean -> EPIC classifiers.
# num_segments must match the frames sampled per clip. ImageNet weights:
# backbone.pretrained='torchvision://resnet50' with backbone.pretrained2d=True.
_base_ = ['mmaction::_base_/models/tsm_r50.py']

num_segments = 8
model = dict(
    backbone=dict(pretrained=None, pretrained2d=False, num_segments=num_segments),
    cls_head=dict(_delete_=True, type='EpicActionHead', in_channels=2048,
                  temporal=dict(type='lstm', num_segments=num_segments,
                                hidden_size=512, num_layers=2, bidirectional=True,
                                dropout=0.2, pooling='mean'),
                  dropout_ratio=0.5, label_smooth_eps=0.1, average_clips='prob'),
    data_preprocessor=dict(format_shape='NCHW'))
