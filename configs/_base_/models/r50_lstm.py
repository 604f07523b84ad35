# Plain ResNet50 per-frame features -> bidirectional LSTM (no temporal shift):
# the CNN+LSTM model of the seed projects.
_base_ = ['./tsm_r50_lstm.py']
model = dict(backbone=dict(_delete_=True, type='ResNet', depth=50, pretrained=None,
                           norm_eval=False))
