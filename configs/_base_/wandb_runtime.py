# Add to a config's _base_ to also log to Weights & Biases. The API key is read
# by wandb from the user's environment (WANDB_API_KEY or `wandb login`), never
# from a file here; WANDB_PROJECT / WANDB_ENTITY pick where runs go.
vis_backends = [
    dict(type='LocalVisBackend'),
    dict(type='TensorboardVisBackend'),
    dict(type='WandbVisBackend',
         init_kwargs=dict(project='{{$WANDB_PROJECT:epic_mmaction}}')),
]
visualizer = dict(type='ActionVisualizer', vis_backends=vis_backends)
