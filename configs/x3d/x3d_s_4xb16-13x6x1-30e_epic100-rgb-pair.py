# X3D-S, 13x6 at 160 px, one classifier over the verb-noun pairs of pairs.json.
_base_ = ['./x3d_s_4xb16-13x6x1-30e_epic100-rgb-verbnoun.py']
model = dict(cls_head=dict(output='pair', pairs_file={{_base_.pairs_file}}))
train_dataloader = dict(dataset=dict(label_mode='pair'))
val_dataloader = dict(dataset=dict(label_mode='pair'))
test_dataloader = dict(dataset=dict(label_mode='pair'))
