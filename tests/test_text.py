"""AG News data, the MiniLM sentence encoder against sentence-transformers' vectors, hashed
token ids, cross-validation, and text models taking plain lists of str."""
import json
from pathlib import Path

import numpy as np
import pytest

import zoo
from training.cv import cross_validate
from zoo.data import text as ag
from zoo.text.hashing import HashedWordIds
from zoo.text.minilm import encoder_available

GOLDEN = Path(__file__).parent / "fixtures" / "minilm_golden.json"
needs_minilm = pytest.mark.skipif(not encoder_available(),
                                  reason="all-MiniLM-L6-v2 weights not installed")


@needs_minilm
def test_embed_matches_sentence_transformers():
    golden = json.loads(GOLDEN.read_text())
    got = zoo.embed(golden["sentences"])
    assert got.shape == (4, 384) and got.dtype == np.float32
    np.testing.assert_allclose(got, np.array(golden["embeddings"]), atol=1e-3)


@needs_minilm
def test_tokenisation_rules_beyond_the_golden_sentences():
    from zoo.text.minilm import WordPiecePreprocessor, load_tokenizer

    vectors = zoo.embed(["HELLO World, Café Déjà vu", "hello world, cafe deja vu"])
    np.testing.assert_allclose(vectors[0], vectors[1], atol=1e-6)  # lower-case, no accents
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-6)  # L2 norm

    pre = WordPiecePreprocessor(load_tokenizer())
    words = " ".join(["word"] * 400)
    out = pre(np.array([words, "short text"], dtype=object))
    assert out["token_ids"].shape == (2, 256)  # truncated at 256 pieces, specials included
    assert int(np.sum(out["padding_mask"][1])) == 4  # [CLS] short text [SEP]
    cut = zoo.embed([words, " ".join(["word"] * 254), " ".join(["word"] * 254) + " other"])
    np.testing.assert_allclose(cut[0], cut[1], atol=1e-5)
    np.testing.assert_allclose(cut[1], cut[2], atol=1e-5)  # "other" is piece 255: dropped

    # mean over real tokens only: padding from a longer neighbour changes nothing
    alone = zoo.embed(["markets rally"])
    from zoo.text.minilm import embedding_model

    batch = embedding_model()(np.array(["markets rally", words], dtype=object)).numpy()
    np.testing.assert_allclose(batch[0], alone[0], atol=1e-5)


@needs_minilm
def test_layer_features_end_with_the_sentence_embedding_and_feed_the_head():
    import keras

    from zoo.text.minilm import embed

    texts = ["Oil prices climb as supply tightens", "A late goal wins the derby"]
    layers = embed(texts, pooling="layers")
    assert layers.shape == (2, 6 * 384)
    blocks = layers.reshape(2, 6, 384)
    np.testing.assert_allclose(np.linalg.norm(blocks, axis=-1), 1.0, atol=1e-5)
    np.testing.assert_allclose(blocks[:, -1], embed(texts), atol=1e-5)  # last layer
    assert not np.allclose(blocks[:, 0], blocks[:, -1], atol=1e-2)  # earlier layers differ
    # what the saved model's head sees from raw text is what the cache trains it on
    model = zoo.build("agnews_minilm")
    head_input = keras.Model(model.input, model.get_layer("minilm_concat_layers").output)
    np.testing.assert_allclose(head_input(np.array(texts, dtype=object)).numpy(), layers,
                               atol=1e-5)


@needs_minilm
def test_minilm_ngram_ensemble_averages_members_trained_on_their_own_losses():
    import keras

    from training.fit import compiled_head

    texts = np.array(["Oil prices climb as supply tightens", "A late goal wins the derby",
                      "Chipmaker unveils a faster processor", "Ceasefire talks resume"], object)
    labels = np.array([2, 1, 3, 0])
    model = zoo.build("agnews_minilm")
    cached = zoo.get("agnews_minilm").cached_features(texts)
    head = compiled_head(model)
    members = head.predict(zoo.data.pipeline(cached, labels, 4), verbose=0)
    assert members.shape == (4, 2, 4)
    # the model's probabilities are the members' average
    np.testing.assert_allclose(model.predict(texts, verbose=0), members.mean(1), atol=1e-6)
    # the n-gram member alone reads raw text; its weights start at zero (uniform output)
    ngram = head.get_layer("ngram_head")
    np.testing.assert_allclose(ngram(keras.ops.convert_to_tensor(texts.astype(str))), 0.25)
    # one step lowers each member's own loss
    before = [keras.losses.sparse_categorical_crossentropy(labels, members[:, i]).numpy().mean()
              for i in range(2)]
    for _ in range(3):
        head.train_on_batch(cached, labels)
    after = head.predict(zoo.data.pipeline(cached, labels, 4), verbose=0)
    assert all(keras.losses.sparse_categorical_crossentropy(labels, after[:, i]).numpy().mean()
               < before[i] for i in range(2))


@needs_minilm
def test_finetune_stage_trains_the_top_layers_and_a_fresh_minilm_member_only():
    from training import pieces
    from training.recipes import recipe_for

    texts = np.array(["Oil prices climb as supply tightens", "A late goal wins the derby",
                      "Chipmaker unveils a faster processor", "Ceasefire talks resume"] * 4,
                     object)
    labels = np.array([2, 1, 3, 0] * 4)
    recipe = recipe_for("agnews_minilm", seed=0)
    recipe["finetune"] = {**recipe["finetune"], "epochs": 1, "batch_size": 8}
    model = pieces.build_model("agnews_minilm", {"finetune_layers": 1}, recipe)
    head = model.get_layer("head")
    head.get_layer("ngram_head").set_weights(  # as a first stage would leave it: not zero
        [np.full_like(w, 0.01) for w in head.get_layer("ngram_head").get_weights()])
    minilm_head = head.get_layer("minilm_head")
    minilm_head.set_weights([w + 1.0 for w in minilm_head.get_weights()])  # "trained"
    before = {v.path: v.numpy().copy() for v in model.weights}
    history = pieces.finetune(model, recipe, (texts, labels))
    assert len(history.history["loss"]) == 1
    changed = {v.path.split("/")[0] for v in model.weights
               if not np.array_equal(before[v.path], v.numpy())}
    # the top layer and the MiniLM member; not the n-gram member, the embeddings or layers 0-4
    assert {"transformer_layer_5", "probabilities", "standardize"} <= changed
    assert not changed & {"ngram_weights", "token_embedding", "transformer_layer_4",
                          "transformer_layer_0"}
    # the MiniLM member started again from fresh weights, not from the "trained" ones
    kernel = minilm_head.get_layer("probabilities").kernel.numpy()
    assert np.abs(kernel).mean() < 0.5


@needs_minilm
def test_top_layers_trainable_count_is_checked_and_decides_the_finetune_stage():
    from training.pieces import finetunes
    from training.recipes import recipe_for
    from zoo.text.minilm import load_backbone, set_trainable_layers

    backbone = load_backbone()
    set_trainable_layers(backbone, 2)
    trainable = {w.path.split("/")[0] for w in backbone.trainable_weights}
    assert trainable == {"transformer_layer_4", "transformer_layer_5"}
    with pytest.raises(ValueError, match="from 1 to 6"):
        set_trainable_layers(backbone, 7)
    set_trainable_layers(backbone, 0)
    assert not backbone.trainable_weights
    # the recipe's second stage runs only where the builder left part of the encoder trainable
    recipe = recipe_for("agnews_minilm")
    assert finetunes(zoo.build("agnews_minilm", finetune_layers=2), recipe)
    assert not finetunes(zoo.build("agnews_minilm"), recipe)  # default: a frozen encoder
    assert not finetunes(zoo.build("agnews_minilm", finetune_layers=2),
                         {**recipe, "finetune": None})


def test_member_loss_is_the_mean_of_member_losses_and_accuracy_that_of_the_average():
    import keras

    from zoo.models.common import ensemble_accuracy, member_crossentropy

    labels = np.array([0, 1])
    members = np.array([[[0.9, 0.1], [0.2, 0.8]],      # example 0: members disagree
                        [[0.3, 0.7], [0.4, 0.6]]], "float32")  # example 1: both say class 1
    expected = np.mean([-np.log(0.9), -np.log(0.2), -np.log(0.7), -np.log(0.6)])
    loss = keras.ops.mean(member_crossentropy(labels, members))
    np.testing.assert_allclose(float(loss), expected, rtol=1e-5)
    # the average of example 0 is (0.55, 0.45): class 0, right; example 1 right too
    np.testing.assert_array_equal(ensemble_accuracy(labels, members), [1.0, 1.0])
    np.testing.assert_array_equal(ensemble_accuracy(labels, members[:, 1]), [0.0, 1.0])


def test_bag_of_embeddings_sums_real_tokens_over_root_count():
    from zoo.text.hashing import BagOfEmbeddings

    ids = np.array([[5, 9, 0, 0], [3, 0, 0, 0], [0, 0, 0, 0]])
    vectors = np.arange(24, dtype="float32").reshape(3, 4, 2)
    out = np.asarray(BagOfEmbeddings()(vectors, ids))
    np.testing.assert_allclose(out[0], (vectors[0, 0] + vectors[0, 1]) / np.sqrt(2))
    np.testing.assert_allclose(out[1], vectors[1, 0])
    np.testing.assert_allclose(out[2], 0.0)  # an empty text has no evidence


def test_ag_news_csv_reader_cleans_and_orders(tmp_path):
    folder = tmp_path / "ag_news_csv"
    folder.mkdir()
    (folder / "test.csv").write_text(
        '"3","Oil up","Prices rose\\sharply today."\n'
        '"1","Talks","Leaders met \\\\ in Geneva."\n'
        '"4","Chip","New CPU ""fast"" launch"\n'
        '"2","Cup","Team wins"\n')
    texts, labels = ag.load_ag_news("test", data_dir=tmp_path)
    assert labels.tolist() == [2, 0, 3, 1]
    assert texts[0] == "Oil up Prices rose sharply today."
    assert texts[1] == "Talks Leaders met in Geneva."
    assert texts[2] == 'Chip New CPU "fast" launch'
    assert ag.AG_NEWS_CLASSES == ["World", "Sports", "Business", "Sci/Tech"]


def test_ag_news_offline_protocol_has_no_test_split(tmp_path):
    folder = tmp_path / "ag_news_csv"
    folder.mkdir()
    rows = [f'"{1 + i % 4}","title {i}","text {i}"' for i in range(40)]
    (folder / "test.csv").write_text("\n".join(rows) + "\n")
    splits = ag.ag_news_splits(data_dir=tmp_path)
    assert len(splits.train[1]) + len(splits.val[1]) == 40
    assert splits.info["protocol"] == "cross-validation"
    with pytest.raises(FileNotFoundError, match="cross-validation"):
        splits.load_test()


def test_ag_news_from_tfds_mock(tmp_path, monkeypatch):
    import tensorflow_datasets as tfds

    monkeypatch.delenv("ZOO_DATA_DIR", raising=False)
    with tfds.testing.mock_data(num_examples=6):
        texts, labels = ag.load_ag_news("test")
    assert len(texts) == 6 and set(labels.tolist()) <= {0, 1, 2, 3}
    assert all(isinstance(t, str) for t in texts)


def test_hashed_word_ids():
    layer = HashedWordIds(num_buckets=1000, max_length=5)
    ids = np.asarray(layer(np.array(["The cat, the CAT!", "dog"], dtype=object)))
    assert ids.shape == (2, 4)
    assert ids[0, 0] == ids[0, 2] and ids[0, 1] == ids[0, 3]  # case and punctuation ignored
    assert ids[1, 1:].tolist() == [0, 0, 0] and 0 < ids[1, 0] < 1000
    bigrams = HashedWordIds(1000, 10, ngrams=2)(np.array(["a b c"], dtype=object))
    assert np.asarray(bigrams).shape == (1, 5)  # 3 words + 2 bigrams


def test_text_models_accept_plain_lists_of_str(tmp_path, monkeypatch):
    monkeypatch.setenv("ZOO_SAVED_MODELS", str(tmp_path))
    model = zoo.build("agnews_bow")
    model.save(tmp_path / "agnews_bow.keras")
    rows = zoo.predict("agnews_bow", ["Stocks rally on earnings", "Team wins the cup"])
    assert len(rows) == 2 and len(rows[0]["probabilities"]) == 4


def test_cross_validation_reports_folds_and_chooses_inside_them(monkeypatch):
    from training import cv

    x, y = zoo.data.spirals(n_per_class=60)
    seen = []
    original = cv._fit_and_score

    def spy(name, overrides, train, test, *args, **kwargs):
        seen.append((overrides.get("width"), len(train[1]), len(test[1])))
        return original(name, overrides, train, test, *args, **kwargs)

    asked = []

    def features(overrides):  # each configuration is asked for its cache (here: none)
        asked.append(overrides.get("width"))
        return None

    monkeypatch.setattr(cv, "_fit_and_score", spy)
    summary = cross_validate("spirals_mlp", x, y, folds=3, epochs=2, features=features,
                             grid=[{"width": 8}, {"width": 16}], verbose=False)
    assert asked == [width for width, _, _ in seen]
    assert len(summary["folds"]) == 3
    accs = [f["accuracy"] for f in summary["folds"]]
    assert summary["mean"] == pytest.approx(np.mean(accs))
    assert summary["std"] == pytest.approx(np.std(accs, ddof=1))
    assert all(f["chosen"] in ({"width": 8}, {"width": 16}) for f in summary["folds"])
    # per fold: two inner fits on 90% / 10% of the 80 training rows, then the outer fit
    assert seen[:3] == [(8, 72, 8), (16, 72, 8), (seen[2][0], 80, 40)]
