# SlowOnly R50 8x8 on HRI30, strategy 3 of 3: progressive unfreezing. The head
# trains alone for 2 epochs, then the backbone's stages join deepest first,
# every 2 epochs, at a tenth of the head's rate (FineTuningHook logs each step).
_base_ = ['./slowonly_r50_kinetics400-pretrained_8xb8-8x8x1-30e_hri30-rgb-headonly.py']

optim_wrapper = dict(optimizer=dict(lr=0.01),
                     paramwise_cfg=dict(custom_keys={'backbone': dict(lr_mult=0.1)}))
custom_hooks = [
    dict(type='FineTuningHook', frozen=['backbone'],
         unfreeze={2: ['backbone.layer4'], 4: ['backbone.layer3'],
                   6: ['backbone.layer2'], 8: ['backbone.layer1', 'backbone.conv1']}),
    {{_base_.early_stopping}}, {{_base_.preemption}}]
