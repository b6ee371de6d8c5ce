"""Settings shared by the CIFAR-10 studies, from the classic course assignment on convolutional
networks (two convolutions of C1 and C2 filters, its MLP baseline, optimizer and dropout study)."""

CIFAR_SOURCE = "the classic CIFAR-10 convolutional-network course assignment (two convolutions, C1 x C2 filters)"
