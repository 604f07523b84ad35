# SlowOnly R50 8x8 on HRI30, strategy 2 of 3: differential learning rates. The
# whole network trains; the pretrained backbone at a tenth of the head's rate.
_base_ = ['./slowonly_r50_kinetics400-pretrained_8xb8-8x8x1-30e_hri30-rgb-headonly.py']

optim_wrapper = dict(optimizer=dict(lr=0.01),
                     paramwise_cfg=dict(custom_keys={'backbone': dict(lr_mult=0.1)}))
custom_hooks = [{{_base_.early_stopping}}, {{_base_.preemption}}]
