"""Training, experiments and model-card builders: never imported by the serving gateway.

Needs the ``train`` extra (scikit-learn, matplotlib, tqdm)."""
