# X3D-S, 13 frames every 6th at 160 px (the dataset base's default sampling),
# verb and noun classifiers.
_base_ = ['../_base_/models/x3d_s.py', '../_base_/datasets/epic100_segments.py',
          '../_base_/schedules/sgd_cosine_30e.py', '../_base_/default_runtime.py']

train_dataloader = dict(batch_size=16)
val_dataloader = dict(batch_size=16)
test_dataloader = dict(batch_size=1)
auto_scale_lr = dict(base_batch_size=64)
