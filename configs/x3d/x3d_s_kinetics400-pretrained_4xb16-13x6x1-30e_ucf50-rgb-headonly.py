# X3D-S fine-tuned on UCF50 from Kinetics-400 with a frozen backbone: only
# MMAction2's X3DHead (432 -> 2048 -> 50) trains; BatchNorm statistics stay
# Kinetics'. 13 frames every 6th at 160 px, 70/15/15 split by group.
_base_ = ['mmaction::_base_/models/x3d.py', '../_base_/datasets/ucf50_videos.py',
          '../_base_/schedules/sgd_cosine_finetune_30e.py', '../_base_/clip_runtime.py']

model = dict(cls_head=dict(num_classes={{_base_.num_classes}}))
# MMAction2's Kinetics-400 X3D-S (converted from PySlowFast); its 400-way
# classifier is skipped (shape mismatch) and the new one trains from scratch
load_from = ('https://download.openmmlab.com/mmaction/v1.0/recognition/x3d/facebook/'
             'x3d_s_13x6x1_facebook-kinetics400-rgb_20201027-623825a0.pth')
# head only: a frozen backbone trains fast, so a higher rate than the base's
optim_wrapper = dict(optimizer=dict(lr=0.05))
custom_hooks = [dict(type='FineTuningHook', frozen=['backbone']),
                {{_base_.early_stopping}}, {{_base_.preemption}}]

train_dataloader = dict(batch_size=16)
val_dataloader = dict(batch_size=16)
auto_scale_lr = dict(base_batch_size=64)
