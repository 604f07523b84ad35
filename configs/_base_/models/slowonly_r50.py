# SlowOnly R50 (Feichtenhofer et al., ICCV 2019), 8x8, with MMAction2's I3DHead
# (single label). pretrained=None: the recipes start from Kinetics-400 weights
# with `load_from`.
model = dict(
    type='Recognizer3D',
    backbone=dict(type='ResNet3dSlowOnly', depth=50, pretrained=None, lateral=False,
                  conv1_kernel=(1, 7, 7), conv1_stride_t=1, pool1_stride_t=1,
                  inflate=(0, 0, 1, 1), norm_eval=False),
    cls_head=dict(type='I3DHead', in_channels=2048, num_classes=400,
                  spatial_type='avg', dropout_ratio=0.5, average_clips='prob'),
    data_preprocessor=dict(type='ActionDataPreprocessor', mean=[123.675, 116.28, 103.53],
                           std=[58.395, 57.12, 57.375], format_shape='NCTHW'))
