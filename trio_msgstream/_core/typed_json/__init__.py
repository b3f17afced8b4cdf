"""Where Python types meet JSON: tool definitions from functions, output
schemas from types, structured outputs, and the partial JSON parser."""
