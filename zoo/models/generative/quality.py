"""Sample quality measured offline with the zoo's own MNIST classifier (the saved `mnist_cnn`):
Frechet distance between feature statistics (FID, Heusel et al. 2017, on `mnist_cnn`'s
penultimate layer instead of Inception's), the classifier score (the Inception score with
`mnist_cnn`: at most 10 for ten classes) and the share of conditional samples classified as the
label asked for. Inception weights cannot be downloaded here, so these figures are on their
own scale: compare them with the same measure of real data (`real_reference`), never with
published Inception FIDs."""
import functools
import warnings

import numpy as np
import scipy.linalg

FEATURE_LAYER = "dense"  # mnist_cnn's 128-unit penultimate layer (after its ReLU)


def frechet_distance(mean1, cov1, mean2, cov2):
    """||m1 - m2||^2 + Tr(C1 + C2 - 2 (C1 C2)^(1/2)) between two Gaussians. Features that
    never fire (dead ReLUs) make the covariances singular; as in Heusel et al.'s code, a
    1e-6 ridge is added to both when the square root is not finite."""
    cov1, cov2 = np.asarray(cov1, "float64"), np.asarray(cov2, "float64")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", scipy.linalg.LinAlgWarning)
        root = scipy.linalg.sqrtm(cov1 @ cov2)
        if not np.isfinite(root).all():
            ridge = 1e-6 * np.eye(len(cov1))
            root = scipy.linalg.sqrtm((cov1 + ridge) @ (cov2 + ridge))
    root = np.real(root)
    diff = np.asarray(mean1, "float64") - np.asarray(mean2, "float64")
    return float(diff @ diff + np.trace(cov1) + np.trace(cov2) - 2.0 * np.trace(root))


def statistics(features):
    """Mean and covariance (rows are examples) of a feature matrix."""
    features = np.asarray(features, "float64")
    return features.mean(axis=0), np.cov(features, rowvar=False)


def fid(features1, features2):
    """FID between two feature matrices."""
    return frechet_distance(*statistics(features1), *statistics(features2))


def classifier_score(probabilities):
    """exp(E_x KL(p(y|x) || p(y))): 1 for one class or uniform guesses, up to the class count
    for confident predictions spread evenly over the classes."""
    p = np.clip(np.asarray(probabilities, "float64"), 1e-12, 1.0)
    marginal = p.mean(axis=0, keepdims=True)
    return float(np.exp(np.mean(np.sum(p * (np.log(p) - np.log(marginal)), axis=1))))


@functools.lru_cache(maxsize=2)
def _judge(verify=True):
    """The saved `mnist_cnn` and a model returning its penultimate features and probabilities."""
    import keras

    from zoo import artifacts

    classifier = artifacts.load("mnist_cnn", verify=verify)
    return keras.Model(classifier.inputs,
                       [classifier.get_layer(FEATURE_LAYER).output, classifier.outputs[0]])


def judged(images, batch_size=500):
    """`mnist_cnn`'s (features, probabilities) of uint8 MNIST images."""
    features, probabilities = _judge().predict(np.asarray(images), batch_size=batch_size,
                                               verbose=0)
    return features, probabilities


def real_reference(train_features, train_probabilities, test_features):
    """The measures for real data: training images (`judged`) against the test features at
    the same count, so a model's figures have a scale."""
    return {"real_fid": fid(train_features, test_features),
            "real_classifier_score": classifier_score(train_probabilities)}
