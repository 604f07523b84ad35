# SlowFast R50 (Feichtenhofer et al., ICCV 2019), 4x16 pathways, EPIC head on
# the concatenated slow (2048) + fast (256) features.
model = dict(
    type='Recognizer3D',
    backbone=dict(
        type='ResNet3dSlowFast',
        pretrained=None,
        resample_rate=8,
        speed_ratio=8,
        channel_ratio=8,
        slow_pathway=dict(type='resnet3d', depth=50, pretrained=None, lateral=True,
                          conv1_kernel=(1, 7, 7), dilations=(1, 1, 1, 1),
                          conv1_stride_t=1, pool1_stride_t=1, inflate=(0, 0, 1, 1),
                          norm_eval=False),
        fast_pathway=dict(type='resnet3d', depth=50, pretrained=None, lateral=False,
                          base_channels=8, conv1_kernel=(5, 7, 7), conv1_stride_t=1,
                          pool1_stride_t=1, norm_eval=False)),
    cls_head=dict(type='EpicActionHead', in_channels=2304, dropout_ratio=0.5,
                  label_smooth_eps=0.1, average_clips='prob'),
    data_preprocessor=dict(type='ActionDataPreprocessor', mean=[123.675, 116.28, 103.53],
                           std=[58.395, 57.12, 57.375], format_shape='NCTHW'))
