"""Fully Spiking Variational Autoencoder (Kamata et al., AAAI 2022) on snntorch."""
