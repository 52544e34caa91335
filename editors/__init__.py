"""Weight editors (ROME, MEMIT, AlphaEdit, erasure, LoRA): not implemented yet (issue 4, 7)."""
