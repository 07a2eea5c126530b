# A tour of azure-sessions-lsp. Run it whole, or cell by cell from your editor.
# %%
import math
import platform

greeting = f"Hello from Python {platform.python_version()}"
print(greeting)

# %% State lives on between runs of one session: `greeting` is still defined here.
words = greeting.split()
print(len(words), "words")
math.sqrt(2)

# %% A failure shows as an error on the line that raised.
def ratio(a, b):
    return a / b

print(ratio(1, 2))
