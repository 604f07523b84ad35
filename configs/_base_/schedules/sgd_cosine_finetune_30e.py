# Fine-tuning from Kinetics weights: the 30-epoch SGD cosine schedule at a tenth
# of its learning rate (0.01 for a total batch of 64; --auto-scale-lr for
# others). Strategies change the backbone's share: FineTuningHook (head only,
# progressive unfreezing) and optim_wrapper.paramwise_cfg (differential rates).
_base_ = ['./sgd_cosine_30e.py']

optim_wrapper = dict(optimizer=dict(lr=0.01, weight_decay=1e-4))
