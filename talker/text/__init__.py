"""Text handling: normalisation of numbers, dates and symbols for speaking (``normalize``), sentence splitting (``split``) and word/character error rates (``metrics``)."""
