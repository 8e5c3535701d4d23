"""Complete the French catalogue: the message ids are the French text, so an untranslated entry
takes its id. Run by `make translations` after extraction; a translator may still edit any entry
(a filled entry is never overwritten)."""

from __future__ import annotations

import sys

from babel.messages.pofile import read_po, write_po

path = sys.argv[1] if len(sys.argv) > 1 else "translations/fr/LC_MESSAGES/messages.po"
with open(path, "rb") as source:
    catalog = read_po(source, locale="fr")
filled = 0
for message in catalog:
    if not message.id:
        continue
    if isinstance(message.id, tuple):
        # French has more plural forms in CLDR (0 and 1 singular; 1 000 000 "de"): fill each,
        # the singular for the first, the plural for the others.
        strings = tuple(message.string) if isinstance(message.string, tuple) else ()
        if len(strings) < catalog.num_plurals or not all(strings):
            wanted = [message.id[0], *([message.id[1]] * (catalog.num_plurals - 1))]
            message.string = tuple(
                strings[i] if i < len(strings) and strings[i] else wanted[i]
                for i in range(catalog.num_plurals)
            )
            filled += 1
    elif not message.string:
        message.string = message.id
        filled += 1
    message.flags.discard("fuzzy")
catalog.obsolete.clear()
with open(path, "wb") as target:
    write_po(target, catalog, width=100)
print(f"{path}: {len(catalog)} messages, {filled} completed from their French id")
