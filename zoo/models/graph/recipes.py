"""How the graph models train: one commented dict per model, the keys those of
`training.recipes.DEFAULTS` (which says what each means); `python -m training NAME --epochs E
--batch-size B --seed S` override them."""

RECIPES = {
    # Planetoid graphs: one batch is the whole graph (full-batch training, as the papers)
    "gcn_cora": dict(
        epochs=200,  # Kipf & Welling: at most 200 epochs, Adam 0.01 (builder), early stopping
        batch_size=1,
        early_stopping=dict(monitor=("val_loss",), patience=10),
    ),
    "gat_cora": dict(
        epochs=1000,  # Velickovic et al. run until patience runs out (100 epochs without a
        # better validation loss or accuracy); 1,000 caps it (runs stop after a few hundred)
        batch_size=1,
        early_stopping=dict(monitor=("val_loss", "val_accuracy"), patience=100),
    ),
    "gcnii_cora": dict(
        epochs=1500,  # Chen et al.: at most 1,500 epochs, stop after 100 without a better
        batch_size=1,  # validation loss and keep that epoch's weights
        early_stopping=dict(monitor=("val_loss",), patience=100),
        jit_compile=False,  # XLA's scatter-add on CPU: 2.5x slower per epoch than TF's kernels
    ),
}

RECIPES["gcn_citeseer"] = RECIPES["gcn_cora"]  # the papers use one setting for both graphs
RECIPES["gat_citeseer"] = RECIPES["gat_cora"]
