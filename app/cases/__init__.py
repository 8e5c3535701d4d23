"""Cases (demandes): who may see and do what with them (``access``), the operations that are the
only writers (``operations``), routing to the competent office, search, the taxpayer summary,
attachments, references and who is looking at a case now (``presence``)."""
