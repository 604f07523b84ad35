# SlowFast R50 (Feichtenhofer et al., ICCV 2019): MMAction2's base, 4x16
# pathways, with the EPIC head on the concatenated slow (2048) + fast (256)
# features.
_base_ = ['mmaction::_base_/models/slowfast_r50.py']

model = dict(
    cls_head=dict(_delete_=True, type='EpicActionHead', in_channels=2304,
                  dropout_ratio=0.5, label_smooth_eps=0.1, average_clips='prob'))
