"""The pages people use: a generation form per modality (drawn from its params
schema), the job page and the history. Nothing here imports torch or genhub.worker."""
