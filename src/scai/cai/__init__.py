"""Constitutional AI: principles, critique/revision data, SFT and DPO training, evaluation."""
