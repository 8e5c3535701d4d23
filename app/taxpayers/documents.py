"""Documents a taxpayer downloads: the receipt of a case, their data as PDF and as CSV.

PDF through fpdf2 (pure Python) with the DejaVu Sans font shipped in ``app/fonts/`` (Bitstream
Vera licence, ``app/fonts/LICENSE-DejaVu.txt``): every French character prints, and nothing
depends on the fonts of the machine. Nothing here reads the database: the views pass what the
access rules let the taxpayer see (``app.taxpayers.export_data``, a case they own).

The CSV export's rows are built here and written by ``app.platform.csvexport`` (streamed, French
Excel, formulas neutralised).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

from flask_babel import gettext as _
from fpdf import FPDF
from fpdf.enums import XPos, YPos

from app.platform.templating import format_datetime

FONT_DIR = Path(__file__).resolve().parent / "fonts"
FONT = "DejaVu"
BLUE = (0, 0, 145)  # the State's blue (DSFR "bleu France")
GREY = (102, 102, 102)


class _Document(FPDF):
    """An A4 page in French with the service's header and a page number at the foot."""

    def __init__(self, title: str) -> None:
        super().__init__(orientation="portrait", unit="mm", format="A4")
        self.add_font(FONT, "", str(FONT_DIR / "DejaVuSans.ttf"))
        self.add_font(FONT, "B", str(FONT_DIR / "DejaVuSans-Bold.ttf"))
        self.set_title(title)
        self.set_author("e-contacts")
        self.set_creator("e-contacts")
        self.set_lang("fr-FR")
        self.set_auto_page_break(auto=True, margin=18)
        self.set_margins(18, 18, 18)
        self.doc_title = title
        self.add_page()

    def header(self) -> None:
        self.set_font(FONT, "B", 9)
        self.set_text_color(*BLUE)
        self.cell(0, 5, _("Administration fiscale — messagerie sécurisée"), new_x=XPos.LMARGIN)
        self.ln(8)
        self.set_text_color(0, 0, 0)

    def footer(self) -> None:
        self.set_y(-12)
        self.set_font(FONT, "", 8)
        self.set_text_color(*GREY)
        self.cell(0, 5, _("Page %(n)s sur {nb}", n=self.page_no()), align="C", new_x=XPos.LMARGIN)
        self.set_text_color(0, 0, 0)

    def title_block(self, subtitle: str | None = None) -> None:
        self.set_font(FONT, "B", 16)
        self.multi_cell(0, 8, self.doc_title, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        if subtitle:
            self.set_font(FONT, "", 10)
            self.set_text_color(*GREY)
            self.multi_cell(0, 5, subtitle, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
            self.set_text_color(0, 0, 0)
        self.ln(4)

    def heading(self, text: str) -> None:
        self.ln(2)
        self.set_font(FONT, "B", 12)
        self.set_text_color(*BLUE)
        self.multi_cell(0, 6, text, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.set_text_color(0, 0, 0)
        self.ln(1)

    def fields(self, rows: Iterable[tuple[str, str | None]]) -> None:
        """Label / value lines; empty values are left out."""
        for label, value in rows:
            if value in (None, ""):
                continue
            self.set_font(FONT, "B", 10)
            self.cell(55, 6, label, new_x=XPos.RIGHT, new_y=YPos.TOP)
            self.set_font(FONT, "", 10)
            self.multi_cell(0, 6, str(value), new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    def paragraph(self, text: str, size: int = 10) -> None:
        self.set_font(FONT, "", size)
        self.multi_cell(0, 5, text, new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    def output_bytes(self) -> bytes:
        return bytes(self.output())


def receipt_pdf(
    *,
    reference: str,
    recorded_contact: bool,
    channel: str,
    received_at: datetime,
    office: str,
    current_office: str | None,
    topic: str,
    tax_matter: str | None,
    subject: str,
    taxpayer_name: str,
    taxpayer_identifier: str,
    withdrawn_at: datetime | None,
    generated_at: datetime,
) -> bytes:
    """The receipt of one case (or the attestation of a recorded contact)."""
    title = _("Attestation de contact") if recorded_contact else _("Récépissé de demande")
    pdf = _Document(title)
    pdf.title_block(_("Référence %(reference)s", reference=reference))
    pdf.fields(
        [
            (_("Référence"), reference),
            (
                _("Date de l'échange") if recorded_contact else _("Reçue le"),
                format_datetime(received_at),
            ),
            (_("Canal"), channel),
            (_("Service") if recorded_contact else _("Service destinataire"), office),
            (_("Service en charge"), current_office if current_office != office else None),
            (_("Motif"), topic),
            (_("Impôt concerné"), tax_matter),
            (_("Objet"), subject),
            (_("Usager"), f"{taxpayer_name} ({taxpayer_identifier})"),
            (_("Retirée le"), format_datetime(withdrawn_at) if withdrawn_at else None),
        ]
    )
    pdf.ln(6)
    if recorded_contact:
        text = _(
            "Ce document atteste de votre échange avec le service %(office)s, enregistré par "
            "un agent sous la référence %(reference)s. Rappelez cette référence dans vos "
            "échanges avec l'administration.",
            office=office,
            reference=reference,
        )
    else:
        text = _(
            "Votre demande a bien été reçue par l'administration fiscale le %(date)s sous la "
            "référence %(reference)s. Ce récépissé atteste de sa réception ; il ne préjuge pas "
            "de la réponse. Rappelez cette référence dans vos échanges avec l'administration.",
            date=format_datetime(received_at),
            reference=reference,
        )
    pdf.paragraph(text)
    pdf.ln(4)
    pdf.set_text_color(*GREY)
    pdf.paragraph(
        _(
            "Document établi le %(date)s depuis votre espace sécurisé.",
            date=format_datetime(generated_at),
        ),
        size=8,
    )
    return pdf.output_bytes()


def _when(value: Any) -> str:
    if not value:
        return ""
    return format_datetime(datetime.fromisoformat(value)) if isinstance(value, str) else ""


def export_pdf(data: dict[str, Any]) -> bytes:
    """The taxpayer's data (``app.taxpayers.export_data``) as a readable document."""
    account = data["compte"]
    pdf = _Document(_("Mes données — messagerie sécurisée"))
    pdf.title_block(_("Export du %(date)s", date=_when(data["export"]["date"])))
    pdf.heading(_("Mon compte"))
    pdf.fields(
        [
            (_("Espace"), account["type"]),
            (_("Numéro fiscal"), account["numero_fiscal"]),
            (_("SIREN"), account["siren"]),
            (_("Prénom"), account["prenom"]),
            (_("Nom"), account["nom"]),
            (_("Raison sociale"), account["raison_sociale"]),
            (_("Adresse électronique"), account["courriel"]),
            (_("Confirmée le"), _when(account["courriel_confirme_le"])),
            (_("Alertes par courriel"), _("oui") if account["alertes_par_courriel"] else _("non")),
            (_("Adresse"), account["adresse"]),
            (
                _("Commune"),
                " ".join(part for part in (account["code_postal"], account["ville"]) if part),
            ),
            (_("Téléphone"), account["telephone"]),
            (_("Compte créé le"), _when(account["cree_le"])),
        ]
    )
    cases = data["demandes"]
    pdf.heading(_("Mes demandes et mes échanges (%(n)s)", n=len(cases)))
    if not cases:
        pdf.paragraph(_("Aucune demande."))
    for item in cases:
        pdf.ln(2)
        pdf.set_font(FONT, "B", 11)
        pdf.multi_cell(
            0,
            6,
            f"{item['reference']} — {item['objet']}",
            new_x=XPos.LMARGIN,
            new_y=YPos.NEXT,
        )
        pdf.fields(
            [
                (_("Canal"), item["canal"]),
                (_("Motif"), item["motif"]),
                (_("Impôt concerné"), item["impot"]),
                (_("Année"), str(item["annee"]) if item["annee"] else None),
                (_("Service"), item["service"]),
                (_("Statut"), item["statut"]),
                (_("Reçue le"), _when(item["recue_le"])),
                (_("Clôturée le"), _when(item["cloturee_le"])),
            ]
        )
        for message in item["messages"]:
            author = _("Vous") if message["auteur"] == "usager" else message["service"] or ""
            pdf.set_font(FONT, "B", 9)
            pdf.set_text_color(*GREY)
            pdf.multi_cell(
                0,
                5,
                f"{author} — {_when(message['date'])}",
                new_x=XPos.LMARGIN,
                new_y=YPos.NEXT,
            )
            pdf.set_text_color(0, 0, 0)
            pdf.paragraph(message["texte"], size=9)
            for item_file in message["pieces_jointes"]:
                pdf.paragraph(_("Pièce jointe : %(name)s", name=item_file["nom"]), size=8)
            pdf.ln(1)
    return pdf.output_bytes()


# --- CSV (written by app.platform.csvexport, the one CSV writer) ----------------------------


def export_csv_rows(data: dict[str, Any]) -> Iterator[list[str]]:
    """The taxpayer's exchanges, one line per message (a case without message: one line)."""
    yield [
        _("Référence"),
        _("Canal"),
        _("Motif"),
        _("Impôt concerné"),
        _("Année"),
        _("Objet"),
        _("Service"),
        _("Statut"),
        _("Reçue le"),
        _("Clôturée le"),
        _("Date du message"),
        _("Auteur"),
        _("Message"),
        _("Pièces jointes"),
    ]
    for item in data["demandes"]:
        head = [
            item["reference"],
            item["canal"],
            item["motif"],
            item["impot"] or "",
            str(item["annee"] or ""),
            item["objet"],
            item["service"],
            item["statut"],
            _when(item["recue_le"]),
            _when(item["cloturee_le"]),
        ]
        if not item["messages"]:
            yield [*head, "", "", "", ""]
        for message in item["messages"]:
            author = _("Vous") if message["auteur"] == "usager" else message["service"] or ""
            names = ", ".join(f["nom"] for f in message["pieces_jointes"])
            yield [*head, _when(message["date"]), author, message["texte"], names]
