# X3D-S (Feichtenhofer, CVPR 2020): MMAction2's X3D base with the EPIC head
# (verb and noun classifiers, or pairs). pretrained=None: set a Kinetics
# checkpoint with `load_from` (path or URL) to fine-tune from it.
_base_ = ['mmaction::_base_/models/x3d.py']

model = dict(
    cls_head=dict(_delete_=True, type='EpicActionHead', in_channels=432,
                  mid_channels=2048, dropout_ratio=0.5, label_smooth_eps=0.1,
                  average_clips='prob'))
