# SlowFast R50, 32x2 (4x16 slow) at 224 px, one classifier over the verb-noun pairs
# of pairs.json.
_base_ = ['./slowfast_r50_8xb8-4x16x1-30e_epic100-rgb-verbnoun.py']
model = dict(cls_head=dict(output='pair', pairs_file={{_base_.pairs_file}}))
train_dataloader = dict(dataset=dict(label_mode='pair'))
val_dataloader = dict(dataset=dict(label_mode='pair'))
test_dataloader = dict(dataset=dict(label_mode='pair'))
