# SlowOnly R50 (Feichtenhofer et al., ICCV 2019), 8x8: MMAction2's base with
# its I3DHead (single label). pretrained=None: the recipes start from
# Kinetics-400 weights with `load_from`, not from ImageNet.
_base_ = ['mmaction::_base_/models/slowonly_r50.py']

model = dict(backbone=dict(pretrained=None))
