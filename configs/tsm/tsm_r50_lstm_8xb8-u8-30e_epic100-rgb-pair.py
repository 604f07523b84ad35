# TSM-R50 + BiLSTM, 8 frames at 224 px, one classifier over the verb-noun pairs of pairs.json.
_base_ = ['./tsm_r50_lstm_8xb8-u8-30e_epic100-rgb-verbnoun.py']
model = dict(cls_head=dict(output='pair', pairs_file={{_base_.pairs_file}}))
train_dataloader = dict(dataset=dict(label_mode='pair'))
val_dataloader = dict(dataset=dict(label_mode='pair'))
test_dataloader = dict(dataset=dict(label_mode='pair'))
