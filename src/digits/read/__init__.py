"""Reading a picture: decode it, find the paper and the ink, frame each mark as MNIST frames a digit,
and run the model file's forward pass in numpy; imports nothing of digits' other parts, and never torch."""
