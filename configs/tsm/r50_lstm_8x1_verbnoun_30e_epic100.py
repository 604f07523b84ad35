# ResNet50 + BiLSTM without temporal shift (the seed projects' CNN+LSTM), 8 frames.
_base_ = ['./tsm_r50_lstm_8x1_verbnoun_30e_epic100.py']
model = dict(backbone=dict(_delete_=True, type='ResNet', depth=50, pretrained=None,
                           norm_eval=False))
