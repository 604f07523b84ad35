# ResNet50 + BiLSTM without temporal shift (a plain CNN+LSTM), 8 frames: the
# TSM recipe with MMAction2's 2D ResNet50 in place of ResNetTSM.
_base_ = ['../tsm/tsm_r50_lstm_8xb8-u8-30e_epic100-rgb-verbnoun.py']
model = dict(backbone=dict(_delete_=True, type='ResNet', depth=50, pretrained=None,
                           norm_eval=False))
