"""Demo data: a plausible slice of the administration in the Rhône and the Loire.

``load_demo_data`` adds the office tree, the directory (topics, tax matters, routing rules, reply
templates), agents, taxpayers and about eighty cases with their threads, transfers and events
to ``db.session``, then flushes. It never commits: the caller commits once. The same seed gives
the same data; dates are relative to the moment it runs (the last eighteen months).
"""

from __future__ import annotations

import math
import random
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import select
from werkzeug.security import generate_password_hash

from app.cases import operations
from app.correspondents import operations as report_operations
from app.taxpayers.operations import set_activation_data
from app.training.exercises import EXERCISES
from models import (
    Agent,
    AuthorKind,
    Case,
    CaseStatus,
    Channel,
    ClosingOutcome,
    Event,
    EventKind,
    InboundEmail,
    InboundStatus,
    KindCode,
    Mailbox,
    MailboxStatus,
    Message,
    Office,
    OfficeKind,
    OfficeTerritory,
    ReplyTemplate,
    ReportTheme,
    RoutingRule,
    Tag,
    TaxMatter,
    Taxpayer,
    TaxpayerKind,
    TemplateAction,
    Topic,
    TrainingProgress,
    Transfer,
    db,
)

# One password for every demo account, agents and taxpayers alike (documented in the README).
DEMO_PASSWORD = "demo-econtacts-2026"  # noqa: S105 - the documented demo value
DEMO_TAX_NUMBER = "1234567890123"
DEMO_SIREN = "123456789"
# A taxpayer known from a counter visit, with no online space yet: activate it at
# /espace/inscription with the references of the last tax notice (docs/decisions/0014).
DEMO_UNACTIVATED = ("1234567890124", "7654321", 31250)  # tax number, access number, income

# The accounts worth showing in the README and the start-up banner: (identifier, who it is).
DEMO_ACCOUNTS: list[tuple[str, str]] = [
    ("admin", "Administrateur : référentiel, agents et rôles, pause des dépôts en ligne"),
    ("agent.sip.lyon3", "Agent du SIP Lyon 3e"),
    ("chef.sip.lyon3", "Chef de service du SIP Lyon 3e"),
    ("pilote.ddfip69", "Pilote de la DDFiP du Rhône (statistiques de la direction)"),
    ("pilote.di", "Pilote de la Délégation interrégionale Centre-Est"),
    (
        "correspondant.ddfip69",
        "Correspondante départementale de la DDFiP du Rhône (signalements des agents)",
    ),
    (DEMO_TAX_NUMBER, "Usager particulier (Camille Durand, Lyon 3e) : espace particulier"),
    (DEMO_SIREN, "Usager professionnel (Boulangerie Marchand SARL) : espace professionnel"),
    (
        DEMO_UNACTIVATED[0],
        f"Usager sans espace (Paul Lefèvre) : à activer avec le numéro d'accès en ligne "
        f"{DEMO_UNACTIVATED[1]} et le revenu fiscal de référence {DEMO_UNACTIVATED[2]}",
    ),
]

SEED = 2026
CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # base 32 without I, L, O, U

_K = KindCode
_I = TaxpayerKind.INDIVIDUAL
_B = TaxpayerKind.BUSINESS


def make_reference(year: int, rng: random.Random) -> str:
    """A case reference as shown to the taxpayer: ``YY-XXXX-XXXX`` in Crockford base 32."""
    chars = "".join(rng.choice(CROCKFORD) for _ in range(8))
    return f"{year % 100:02d}-{chars[:4]}-{chars[4:]}"


# --- The office tree ----------------------------------------------------------------------------


@dataclass(frozen=True)
class _OfficeSpec:
    code: str
    slug: str  # the middle of the agents' usernames: agent.<slug>, chef.<slug>
    name: str
    kind: KindCode
    parent: str | None
    address: str
    phone: str
    territories: tuple[tuple[str, str | None], ...] = ()

    @property
    def email(self) -> str:
        return f"{self.slug}@dgfip.example"


_BOTH_DEPARTEMENTS: tuple[tuple[str, str | None], ...] = (("69", None), ("42", None))

# Phone numbers are in the ranges ARCEP reserves for fiction (04 65 71 xx xx, 06 39 98 xx xx).
_OFFICES: tuple[_OfficeSpec, ...] = (
    _OfficeSpec(
        "DI-CE",
        "di.centre-est",
        "Délégation interrégionale Centre-Est",
        _K.DELEGATION,
        None,
        "45 rue de la Villette, 69003 Lyon",
        "04 65 71 10 00",
    ),
    _OfficeSpec(
        "DDFIP-69",
        "ddfip69",
        "DDFiP du Rhône",
        _K.DIRECTORATE,
        "DI-CE",
        "3 rue de la Charité, 69002 Lyon",
        "04 65 71 20 00",
    ),
    _OfficeSpec(
        "DDFIP-42",
        "ddfip42",
        "DDFiP de la Loire",
        _K.DIRECTORATE,
        "DI-CE",
        "11 rue Mi-Carême, 42000 Saint-Étienne",
        "04 65 71 30 00",
    ),
    _OfficeSpec(
        "IFU-DGE",
        "ifu.dge",
        "IFU de la DGE",
        _K.LARGE_COMPANIES,
        "DI-CE",
        "8 rue Courteline, 93500 Pantin",
        "04 65 71 10 50",
        _BOTH_DEPARTEMENTS,
    ),
    _OfficeSpec(
        "SIP-LYON3",
        "sip.lyon3",
        "SIP Lyon 3e",
        _K.SIP,
        "DDFIP-69",
        "165 rue Garibaldi, 69003 Lyon",
        "04 65 71 21 03",
        (("69", "69383"), ("69", "69386"), ("69", "69387")),
    ),
    _OfficeSpec(
        "SIP-VILLEURB",
        "sip.villeurbanne",
        "SIP Villeurbanne",
        _K.SIP,
        "DDFIP-69",
        "12 rue Jean Bourgey, 69100 Villeurbanne",
        "04 65 71 21 66",
        (("69", "69266"),),
    ),
    _OfficeSpec(
        "SIE-LYON-N",
        "sie.lyon-nord",
        "SIE Lyon Nord",
        _K.SIE,
        "DDFIP-69",
        "165 rue Garibaldi, 69003 Lyon",
        "04 65 71 22 10",
        (("69", None),),
    ),
    _OfficeSpec(
        "CDIF-LYON",
        "cdif.lyon",
        "CDIF de Lyon",
        _K.CDIF,
        "DDFIP-69",
        "165 rue Garibaldi, 69003 Lyon",
        "04 65 71 23 00",
        (("69", None),),
    ),
    _OfficeSpec(
        "CIS-LYON",
        "cis.lyon",
        "Centre impôts service de Lyon",
        _K.CIS,
        "DDFIP-69",
        "20 rue de la Villette, 69003 Lyon",
        "04 65 71 24 00",
        _BOTH_DEPARTEMENTS,
    ),
    _OfficeSpec(
        "CPS-LYON",
        "cps.lyon",
        "Centre prélèvement service de Lyon",
        _K.CPS,
        "DDFIP-69",
        "20 rue de la Villette, 69003 Lyon",
        "04 65 71 25 00",
        _BOTH_DEPARTEMENTS,
    ),
    _OfficeSpec(
        "CC-ST-ETIENNE",
        "cc.saint-etienne",
        "Centre de contact de Saint-Étienne",
        _K.CONTACT_CENTRE,
        "DDFIP-42",
        "5 place Jean Jaurès, 42000 Saint-Étienne",
        "04 65 71 31 00",
        _BOTH_DEPARTEMENTS,
    ),
    _OfficeSpec(
        "SIP-ST-ETIENNE",
        "sip.saint-etienne",
        "SIP Saint-Étienne",
        _K.SIP,
        "DDFIP-42",
        "11 rue Mi-Carême, 42000 Saint-Étienne",
        "04 65 71 32 18",
        (("42", None),),
    ),
    _OfficeSpec(
        "SIE-ST-ETIENNE",
        "sie.saint-etienne",
        "SIE Saint-Étienne",
        _K.SIE,
        "DDFIP-42",
        "11 rue Mi-Carême, 42000 Saint-Étienne",
        "04 65 71 33 18",
        (("42", None),),
    ),
    _OfficeSpec(
        "CDIF-ST-ETIENN",
        "cdif.saint-etienne",
        "CDIF de Saint-Étienne",
        _K.CDIF,
        "DDFIP-42",
        "2 rue de la Préfecture, 42000 Saint-Étienne",
        "04 65 71 34 00",
        (("42", None),),
    ),
    _OfficeSpec(
        "TRES-ROANNE",
        "tresorerie.roanne",
        "Trésorerie de Roanne",
        _K.TREASURY,
        "DDFIP-42",
        "27 rue Anatole France, 42300 Roanne",
        "04 65 71 35 87",
        (("42", "42187"),),
    ),
)

# --- The directory ------------------------------------------------------------------------------

# (code, label, target days, taxpayer kind, children: (code, label, kind))
_TOPICS: tuple[tuple[str, str, int, TaxpayerKind | None, tuple[Any, ...]], ...] = (
    (
        "claim",
        "Réclamation",
        30,
        None,
        (
            ("claim.amount", "Contester le montant de l'impôt", None),
            ("claim.remission", "Demander une remise gracieuse", None),
            ("claim.property_tax", "Signaler une erreur de taxe foncière", None),
            ("claim.penalty", "Contester une majoration ou une pénalité", None),
            ("claim.vat_refund", "Demander le remboursement d'un crédit de TVA", _B),
        ),
    ),
    (
        "difficulty",
        "Signaler une difficulté",
        15,
        None,
        (
            ("difficulty.payment", "Problème de paiement", None),
            ("difficulty.payment_plan", "Demander un délai de paiement", None),
            ("difficulty.withholding_rate", "Prélèvement à la source : taux", _I),
            ("difficulty.account_access", "Accès à l'espace en ligne", None),
            ("difficulty.vat_return", "Déclarer ou payer la TVA en ligne", _B),
        ),
    ),
    (
        "question",
        "Question générale",
        15,
        None,
        (
            ("question.income_return", "Déclaration de revenus", _I),
            ("question.withholding", "Prélèvement à la source", _I),
            ("question.second_home", "Taxe d'habitation sur les résidences secondaires", None),
            ("question.property", "Déclaration des biens immobiliers", None),
            ("question.vat", "TVA : taux, régime, déclaration", _B),
            ("question.corporate_tax", "Impôt sur les sociétés", _B),
            ("question.cfe", "Cotisation foncière des entreprises", _B),
        ),
    ),
    (
        "information",
        "Transmettre une information",
        30,
        None,
        (
            ("information.family", "Changement de situation familiale", _I),
            ("information.address", "Changement d'adresse", None),
            ("information.documents", "Transmettre des pièces justificatives", None),
        ),
    ),
)

# (code, label, taxpayer kind, asks year)
_TAX_MATTERS: tuple[tuple[str, str, TaxpayerKind | None, bool], ...] = (
    ("income_tax", "Impôt sur le revenu", _I, True),
    ("withholding", "Prélèvement à la source", _I, True),
    ("property_tax", "Taxe foncière", None, True),
    ("second_home", "Taxe d'habitation (résidences secondaires)", None, True),
    ("ifi", "Impôt sur la fortune immobilière", _I, True),
    ("vat", "TVA", _B, True),
    ("corporate_tax", "Impôt sur les sociétés", _B, True),
    ("cfe", "Cotisation foncière des entreprises", _B, True),
    ("other", "Autre ou je ne sais pas", None, False),
)

# (topic code, tax matter code, taxpayer kind, office kind): the most specific rule wins.
_ROUTING_RULES: tuple[tuple[str | None, str | None, TaxpayerKind | None, KindCode], ...] = (
    (None, None, _I, _K.SIP),
    (None, None, _B, _K.SIE),
    ("claim.property_tax", "property_tax", None, _K.CDIF),
    ("claim.property_tax", None, _I, _K.CDIF),
    ("claim.property_tax", None, _B, _K.CDIF),
    ("difficulty.payment", "withholding", None, _K.CPS),
    ("difficulty.payment", "property_tax", _I, _K.CPS),
    ("difficulty.account_access", None, _I, _K.CIS),
)

_POLITE_END = (
    "Nous vous prions d'agréer, Madame, Monsieur, l'expression de nos salutations distinguées."
)

# (title, office code or None for every office, topic code or None, body)
_REPLY_TEMPLATES: tuple[tuple[str, str | None, str | None, str], ...] = (
    (
        "Accusé de réception",
        None,
        None,
        "Bonjour {nom},\n\n"
        "Nous avons bien reçu votre demande n° {reference}. Elle est en cours d'examen par le "
        "{service} et une réponse vous sera apportée dans les meilleurs délais.\n\n"
        "Cordialement,\n{service}",
    ),
    (
        "Demande de pièces justificatives",
        None,
        None,
        "Bonjour {nom},\n\n"
        "Afin de poursuivre l'examen de votre demande n° {reference}, nous vous remercions de "
        "nous transmettre les pièces justificatives suivantes, en réponse à ce message : [...].\n\n"
        "Sans réponse de votre part sous trente jours à compter du {date}, votre demande sera "
        "examinée en l'état des éléments en notre possession.\n\n"
        "Cordialement,\n{service}",
    ),
    (
        "Réclamation admise : dégrèvement",
        None,
        "claim",
        "Madame, Monsieur,\n\n"
        "Après examen de votre réclamation n° {reference}, nous avons le plaisir de vous "
        "informer qu'elle a été admise. Un avis de dégrèvement vous sera adressé ; le "
        "remboursement éventuel interviendra par virement sur le compte bancaire connu de nos "
        "services.\n\n" + _POLITE_END + "\n\n{service}, le {date}",
    ),
    (
        "Réclamation rejetée",
        None,
        "claim",
        "Madame, Monsieur,\n\n"
        "Après examen de votre réclamation n° {reference}, nous ne sommes pas en mesure d'y "
        "donner une suite favorable pour les motifs suivants : [...].\n\n"
        "Si vous n'êtes pas d'accord avec cette décision, vous pouvez saisir le conciliateur "
        "fiscal départemental ou, dans un délai de deux mois, le tribunal compétent.\n\n"
        + _POLITE_END
        + "\n\n{service}, le {date}",
    ),
    (
        "Transmission au service compétent",
        None,
        None,
        "Bonjour {nom},\n\n"
        "Votre demande n° {reference} relève d'un autre service de la DGFiP. Nous la lui avons "
        "transmise ce jour ({date}) avec l'ensemble de vos échanges : vous n'avez aucune "
        "démarche à refaire. La réponse vous parviendra dans votre messagerie sécurisée.\n\n"
        "Cordialement,\n{service}",
    ),
    (
        "Délai de paiement accordé",
        "SIP-LYON3",
        "difficulty.payment_plan",
        "Madame, Monsieur,\n\n"
        "Nous accédons à votre demande de délai de paiement (demande n° {reference}). Le "
        "montant restant dû sera prélevé selon l'échéancier joint ; aucune majoration "
        "supplémentaire ne sera appliquée si les échéances sont respectées.\n\n"
        + _POLITE_END
        + "\n\n{service}, le {date}",
    ),
    (
        "Mise à jour du fichier foncier",
        "CDIF-LYON",
        "claim.property_tax",
        "Bonjour {nom},\n\n"
        "Suite à votre signalement n° {reference}, les caractéristiques de votre bien ont été "
        "mises à jour dans le fichier foncier le {date}. Si cette correction modifie une "
        "imposition déjà établie, un avis de dégrèvement vous sera adressé.\n\n"
        "Cordialement,\n{service}",
    ),
    (
        "Régularisation d'un prélèvement",
        "CPS-LYON",
        "difficulty.payment",
        "Bonjour {nom},\n\n"
        "Nous avons examiné le prélèvement signalé dans votre demande n° {reference}. "
        "La régularisation a été effectuée le {date} ; le montant concerné sera crédité sur "
        "votre compte bancaire sous dix jours environ.\n\n"
        "Cordialement,\n{service}",
    ),
)

# Issue 16: outcomes of claims (besides the national ones of the migration), the SIP Lyon 3e's
# tags and macros (reply templates with an action).
_CLAIM_OUTCOMES = (
    ("claim.relief_granted", "Dégrèvement accordé"),
    ("claim.relief_partial", "Dégrèvement partiel"),
    ("claim.rejected", "Réclamation rejetée"),
)
_OFFICE_TAGS = ("Urgent", "Contentieux", "Pièces attendues")
_MACROS = (
    (
        "Dégrèvement accordé (répondre et clôturer)",
        "claim",
        TemplateAction.ANSWER_AND_CLOSE,
        "claim.relief_granted",
        "Bonjour {nom},\n\n"
        "Après examen de votre réclamation n° {reference}, un dégrèvement vous est accordé. "
        "Vous recevrez l'avis correspondant dans les prochaines semaines.\n\n"
        "Cordialement,\n{service}",
    ),
    (
        "Demander l'avis d'imposition (précision)",
        None,
        TemplateAction.REQUEST_INFORMATION,
        None,
        "Bonjour {nom},\n\n"
        "Pour traiter votre demande n° {reference}, merci de nous transmettre une copie de votre "
        "avis d'imposition, en réponse à ce message.\n\n"
        "Cordialement,\n{service}",
    ),
)

# --- People -------------------------------------------------------------------------------------

# fmt: off
_AGENT_FIRST_NAMES = (
    "Anne", "Julien", "Céline", "Olivier", "Valérie", "Stéphane", "Aurélie", "Nicolas", "Sandrine",
    "Frédéric", "Émilie", "Laurent", "Delphine", "Sébastien", "Karine", "Christophe", "Virginie",
    "Mathieu", "Caroline", "Jérôme", "Audrey", "Philippe", "Nadège", "Romain", "Agnès", "Vincent",
    "Pauline", "Thierry", "Mélanie", "David", "Florence", "Guillaume", "Cédric", "Sylvie",
    "Arnaud", "Laetitia", "Éric", "Marion", "Benoît", "Corinne",
)
_AGENT_LAST_NAMES = (
    "Bonnet", "Dupuis", "Lemoine", "Garnier", "Chauvin", "Renaud", "Barbier", "Marchal", "Aubert",
    "Guérin", "Picard", "Charpentier", "Masson", "Joly", "Lacroix", "Fabre", "Brunet", "Schmitt",
    "Leclerc", "Meunier", "Carré", "Poulain", "Collet", "Perret", "Baron", "Gilles", "Hamon",
    "Besson", "Tessier", "Royer", "Marty", "Millet", "Caron", "Ollivier", "Dumont", "Lebrun",
    "Rolland", "Gaillard", "Colas", "Lemaire",
)
# fmt: on

# (username, first name, last name, role names, office code)
_STAFF: tuple[tuple[str, str, str, tuple[str, ...], str | None], ...] = (
    ("admin", "Hélène", "Vasseur", ("admin",), "DI-CE"),
    ("pilote.di", "Isabelle", "Roux", ("steering",), "DI-CE"),
    ("pilote.ddfip69", "Marc", "Giraud", ("steering",), "DDFIP-69"),
    ("correspondant.ddfip69", "Nathalie", "Vidal", ("correspondent",), "DDFIP-69"),
)

# Communes: (postcode, city, INSEE code, streets)
_COMMUNES: dict[str, tuple[str, str, str]] = {
    "lyon3": ("69003", "Lyon", "69383"),
    "lyon6": ("69006", "Lyon", "69386"),
    "lyon7": ("69007", "Lyon", "69387"),
    "villeurbanne": ("69100", "Villeurbanne", "69266"),
    "saint-etienne": ("42000", "Saint-Étienne", "42218"),
    "saint-etienne-sud": ("42100", "Saint-Étienne", "42218"),
    "roanne": ("42300", "Roanne", "42187"),
}

# Individuals: (first name, last name, address, commune key). The first is the demo account.
_INDIVIDUALS: tuple[tuple[str, str, str, str], ...] = (
    ("Camille", "Durand", "27 rue Paul Bert", "lyon3"),
    ("Jean-Pierre", "Morel", "14 cours Gambetta", "lyon7"),
    ("Nathalie", "Girard", "5 rue Vendôme", "lyon6"),
    ("Mohamed", "Benali", "32 cours Émile Zola", "villeurbanne"),
    ("Sophie", "Lefèvre", "88 avenue Félix Faure", "lyon3"),
    ("Thomas", "Chevalier", "3 rue Francis de Pressensé", "villeurbanne"),
    ("Isabelle", "Fontaine", "21 boulevard des Belges", "lyon6"),
    ("Lucas", "Perrin", "9 rue de Marseille", "lyon7"),
    ("Fatima", "Haddad", "47 avenue Roger Salengro", "villeurbanne"),
    ("Bernard", "Mathieu", "12 rue de la République", "saint-etienne"),
    ("Chantal", "Rey", "6 cours Fauriel", "saint-etienne-sud"),
    ("Julien", "Faure", "18 rue Mulsant", "roanne"),
    ("Élodie", "Gauthier", "40 rue Moncey", "lyon3"),
    ("Karim", "Mansouri", "2 rue Michelet", "saint-etienne"),
    ("Monique", "Bertrand", "15 boulevard de Belgique", "roanne"),
    ("Antoine", "Roussel", "73 rue Duguesclin", "lyon6"),
    ("Léa", "Marchetti", "11 avenue Berthelot", "lyon7"),
    ("Patrick", "Vidal", "24 rue Léon Blum", "villeurbanne"),
    ("Nadia", "Ferrand", "7 rue Gambetta", "saint-etienne"),
    ("Hugo", "Blanchard", "56 rue Garibaldi", "lyon3"),
    ("Martine", "Colin", "30 rue Charles de Gaulle", "roanne"),
    ("Yannick", "Brun", "19 rue Bergson", "saint-etienne"),
)

# Businesses: (company name, address, commune key, large company). The first is the demo account.
_BUSINESSES: tuple[tuple[str, str, str, bool], ...] = (
    ("Boulangerie Marchand SARL", "61 rue Paul Bert", "lyon3", False),
    ("Garage des Brotteaux SAS", "12 boulevard des Brotteaux", "lyon6", False),
    ("Librairie La Virgule SARL", "86 rue de Marseille", "lyon7", False),
    ("Cabinet Morel Architectes", "15 rue Racine", "villeurbanne", False),
    ("Atelier Forez Métal SAS", "40 rue de la Talaudière", "saint-etienne", False),
    ("Imprimerie Stéphanoise SAS", "3 rue Balay", "saint-etienne", False),
    ("Transports Roannais SARL", "8 rue de Charlieu", "roanne", False),
    ("Groupe Rhône-Loire Distribution SA", "100 cours Lafayette", "lyon3", True),
)

# --- Cases --------------------------------------------------------------------------------------

_ALL_CHANNELS = (Channel.ONLINE, Channel.PHONE, Channel.COUNTER, Channel.LETTER)
_RECORDED = (Channel.PHONE, Channel.COUNTER, Channel.LETTER)


@dataclass(frozen=True)
class _Scenario:
    """One kind of case, with the words of both sides. ``{annee}`` is the tax year."""

    key: str
    kind: TaxpayerKind
    topic: str
    matter: str | None
    subject: str
    summary: str  # the agent's record of a phone call, visit or letter (third person)
    question: str  # the taxpayer's own words
    answer: str
    outcome: str
    info_request: str
    info_reply: str
    office_kind: KindCode | None = None  # None: the taxpayer's SIP or SIE
    channels: tuple[Channel, ...] = _ALL_CHANNELS
    # The tax year, when the tax matter asks for one. income: the year before; levy: the year of
    # the notice (September on); otherwise the current year.
    year: str = "income"
    large: bool = False  # for the large-companies office only
    scripted: bool = False  # too particular to be drawn at random


_SCENARIOS: tuple[_Scenario, ...] = (
    _Scenario(
        "ir_garde",
        _I,
        "claim.amount",
        "income_tax",
        "Frais de garde non pris en compte sur l'impôt des revenus {annee}",
        "L'usager conteste son impôt sur les revenus {annee} : les frais de garde de son enfant "
        "(1 850 €, case 7GA) ne semblent pas avoir été pris en compte.",
        "J'ai reçu mon avis d'impôt sur les revenus {annee} et le montant me paraît trop élevé : "
        "les frais de garde de ma fille à la crèche (1 850 €), que j'avais déclarés case 7GA, "
        "n'apparaissent pas dans le calcul. Pouvez-vous vérifier ?",
        "Après vérification, les frais de garde déclarés n'avaient pas été repris en raison "
        "d'une erreur de saisie. Un dégrèvement de 925 € a été prononcé ; il vous sera "
        "remboursé par virement sous trois semaines environ et un avis de dégrèvement vous "
        "sera adressé.",
        "Dégrèvement accordé",
        "Afin d'examiner votre réclamation, pourriez-vous nous indiquer le nom de la crèche et "
        "le montant figurant sur l'attestation annuelle de frais de garde pour {annee} ?",
        "Il s'agit de la crèche municipale Les Petits Loups. L'attestation annuelle indique "
        "1 850 € versés en {annee}, aides de la CAF déduites. Je peux la déposer au guichet si "
        "nécessaire.",
    ),
    _Scenario(
        "ir_remise",
        _I,
        "claim.remission",
        "income_tax",
        "Demande de remise gracieuse après une perte d'emploi",
        "L'usager, licencié économique, demande une remise gracieuse du solde de son impôt sur "
        "les revenus {annee} (1 120 €).",
        "J'ai été licencié pour motif économique il y a quatre mois et je ne perçois plus que "
        "l'allocation chômage. Je ne suis pas en mesure de payer le solde de 1 120 € de mon "
        "impôt sur les revenus {annee}. Je sollicite une remise gracieuse totale ou partielle.",
        "Compte tenu de la baisse importante de vos ressources, une remise gracieuse partielle "
        "de 600 € vous est accordée. Le solde restant, soit 520 €, peut être réglé en quatre "
        "mensualités si vous le souhaitez : il vous suffit de nous le demander en réponse.",
        "Remise gracieuse partielle accordée",
        "Pour instruire votre demande de remise, merci de nous indiquer le montant mensuel de "
        "vos ressources actuelles et de vos charges (loyer, crédits, enfants à charge).",
        "Je perçois 1 310 € d'allocation par mois. Mon loyer est de 640 €, j'ai un crédit "
        "automobile de 180 € par mois et un enfant à charge en garde alternée.",
    ),
    _Scenario(
        "tf_garage",
        _I,
        "claim.property_tax",
        "property_tax",
        "Taxe foncière {annee} : garage vendu toujours imposé",
        "L'usager signale que sa taxe foncière {annee} inclut un garage vendu l'année précédente.",
        "Ma taxe foncière {annee} inclut toujours le garage de ma résidence, que j'ai vendu en "
        "mars de l'année précédente (acte signé chez Maître Vial, notaire). Pouvez-vous corriger "
        "cette erreur ?",
        "Après vérification du fichier foncier, la vente du garage (lot n° 27) a bien été "
        "publiée mais n'avait pas encore été prise en compte. La cotisation correspondante, "
        "soit 212 €, fait l'objet d'un dégrèvement qui vous sera notifié prochainement.",
        "Dégrèvement accordé",
        "Pourriez-vous nous communiquer la date exacte de l'acte de vente et les références "
        "cadastrales du garage (section et numéro de parcelle) ?",
        "L'acte a été signé le 17 mars. Les références cadastrales sont section BK, parcelle 112, "
        "lot n° 27.",
        office_kind=_K.CDIF,
        year="levy",
    ),
    _Scenario(
        "tf_construction",
        _I,
        "claim.property_tax",
        "property_tax",
        "Exonération de deux ans non appliquée pour notre maison neuve",
        "L'usager indique que l'exonération temporaire de taxe foncière pour construction "
        "nouvelle n'a pas été appliquée sur l'avis {annee}.",
        "Notre maison a été achevée l'an dernier et nous avions déposé la déclaration H1 dans "
        "les 90 jours. L'exonération de deux ans n'apparaît pourtant pas sur l'avis de taxe "
        "foncière {annee}.",
        "Votre déclaration d'achèvement a bien été retrouvée. L'exonération temporaire de deux "
        "ans a été appliquée dans les conditions votées par votre commune : un avis de "
        "dégrèvement de 1 046 € vous sera adressé.",
        "Dégrèvement accordé",
        "Pourriez-vous nous préciser la date de dépôt de la déclaration H1 et la date "
        "d'achèvement figurant sur la déclaration attestant l'achèvement des travaux ?",
        "La déclaration H1 a été déposée en ligne le 12 octobre ; l'achèvement des travaux est "
        "daté du 28 août.",
        office_kind=_K.CDIF,
        year="levy",
    ),
    _Scenario(
        "ir_majoration",
        _I,
        "claim.penalty",
        "income_tax",
        "Majoration de 10 % pour un paiement en retard de deux jours",
        "L'usager demande l'annulation de la majoration de 10 % appliquée au solde de son impôt "
        "sur les revenus {annee}, payé avec deux jours de retard.",
        "Mon prélèvement du solde a été rejeté par erreur par ma banque et j'ai payé en ligne "
        "deux jours après la date limite. Ma banque reconnaît son erreur par écrit. Je vous "
        "demande l'annulation de la majoration de 10 % (87 €).",
        "Au vu de l'attestation de votre banque, le retard ne vous est pas imputable. La "
        "majoration de 87 € est annulée ; elle vous sera remboursée sous trois semaines.",
        "Majoration remise",
        "Pouvez-vous nous transmettre l'attestation de votre banque reconnaissant le rejet "
        "erroné du prélèvement ? Vous pouvez la joindre en réponse à ce message.",
        "Voici l'attestation de ma banque, datée du 4 octobre, qui reconnaît que le rejet du "
        "prélèvement résultait d'un incident technique de leur côté.",
    ),
    _Scenario(
        "ir_delai",
        _I,
        "difficulty.payment_plan",
        "income_tax",
        "Demande de délai de paiement pour le solde de l'impôt {annee}",
        "L'usager sollicite un étalement du solde de son impôt sur les revenus {annee} (1 340 €) "
        "à la suite d'une baisse de revenus.",
        "À la suite d'une baisse de revenus (chômage partiel), je ne peux pas régler en une "
        "fois le solde de 1 340 € de mon impôt sur les revenus {annee}. Serait-il possible de "
        "le payer en quatre mensualités ?",
        "Nous vous accordons un plan de règlement en quatre échéances de 335 €, prélevées le 15 "
        "de chaque mois. Aucune majoration supplémentaire ne sera appliquée si les échéances "
        "sont respectées.",
        "Délai de paiement accordé",
        "Pour étudier votre demande, merci de nous préciser vos revenus mensuels actuels et de "
        "nous indiquer l'échéancier que vous proposez.",
        "Mes revenus sont passés de 2 400 € à 1 750 € par mois. Je propose quatre mensualités "
        "de 335 € à partir du mois prochain.",
    ),
    _Scenario(
        "pas_taux",
        _I,
        "difficulty.withholding_rate",
        "withholding",
        "Taux de prélèvement à la source trop élevé après une baisse de revenus",
        "L'usager, passé à temps partiel, demande une modulation à la baisse de son taux de "
        "prélèvement à la source (11,2 %).",
        "Je suis passé à temps partiel le 1er septembre et mes revenus ont baissé d'environ "
        "30 %. Mon taux de prélèvement à la source est resté à 11,2 %. Comment le faire "
        "baisser ?",
        "Vous pouvez moduler votre taux depuis votre espace particulier, rubrique « Gérer mon "
        "prélèvement à la source ». Au vu des éléments que vous nous avez indiqués, nous avons "
        "procédé à la modulation : votre nouveau taux de 6,4 % sera transmis à votre employeur "
        "et appliqué sous deux à trois mois.",
        "Taux de prélèvement modulé",
        "Pour calculer votre nouveau taux, merci de nous indiquer l'estimation de vos revenus "
        "nets imposables pour l'année en cours.",
        "J'estime mes revenus nets imposables de l'année à 19 800 € (contre 28 400 € l'an "
        "dernier).",
    ),
    _Scenario(
        "pas_double",
        _I,
        "difficulty.payment",
        "withholding",
        "Acompte de prélèvement à la source débité deux fois",
        "L'usager signale que l'acompte de prélèvement à la source sur ses revenus fonciers "
        "(186 €) a été débité deux fois ce mois-ci.",
        "Mon compte a été débité deux fois de l'acompte de prélèvement à la source sur mes "
        "revenus fonciers (186 €) le 15 du mois. Pouvez-vous me rembourser le prélèvement en "
        "double ?",
        "Nous avons constaté l'anomalie, due à un double envoi du fichier de prélèvements. Le "
        "remboursement de 186 € a été ordonné et sera crédité sur votre compte sous dix jours "
        "environ.",
        "Remboursement effectué",
        "Pourriez-vous nous indiquer les quatre derniers chiffres de l'IBAN du compte débité et "
        "la date des deux prélèvements figurant sur votre relevé ?",
        "IBAN se terminant par 4417 ; les deux prélèvements de 186 € sont datés du 15 et du 16.",
        office_kind=_K.CPS,
        channels=(Channel.ONLINE, Channel.PHONE),
        year="levy",
    ),
    _Scenario(
        "tf_mensualisation",
        _I,
        "difficulty.payment",
        "property_tax",
        "Mensualisation de la taxe foncière non mise en place",
        "L'usager a adhéré à la mensualisation de sa taxe foncière mais aucun prélèvement n'a "
        "eu lieu ; il a reçu un avis à payer en totalité.",
        "J'ai adhéré à la mensualisation de la taxe foncière en décembre, mais aucun "
        "prélèvement n'a eu lieu et je reçois maintenant un avis me demandant de payer la "
        "totalité (1 284 €) avant le 15 octobre.",
        "Votre contrat de mensualisation avait bien été enregistré mais n'avait pas été "
        "rattaché au bon avis. Il a été régularisé : le solde sera prélevé en trois fois, sans "
        "majoration. Vous n'avez rien à payer d'ici le 15 octobre.",
        "Contrat de mensualisation régularisé",
        "Pour retrouver votre contrat, merci de nous communiquer la référence de votre avis de "
        "taxe foncière et la date à laquelle vous avez adhéré.",
        "La référence de l'avis est 24 69 383 112 847 T ; j'ai adhéré en ligne le 9 décembre.",
        office_kind=_K.CPS,
        year="levy",
    ),
    _Scenario(
        "acces_espace",
        _I,
        "difficulty.account_access",
        None,
        "Impossible d'accéder à mon espace particulier",
        "L'usager ne parvient plus à se connecter à son espace particulier depuis son "
        "changement de téléphone et doit déclarer ses revenus.",
        "Depuis mon changement de téléphone, je ne reçois plus le code de sécurité et je ne "
        "peux plus me connecter à mon espace. Je dois pourtant déclarer mes revenus.",
        "Nous avons réinitialisé votre accès : un nouveau mot de passe provisoire vous a été "
        "adressé par courrier. Vous pourrez alors enregistrer votre nouveau numéro de téléphone "
        "dans la rubrique « Mon profil ».",
        "Accès rétabli",
        "Pour sécuriser la réinitialisation, merci de nous confirmer votre date de naissance et "
        "le revenu fiscal de référence de votre dernier avis d'impôt.",
        "Je suis né le 4 juillet 1968 ; le revenu fiscal de référence est de 31 240 €.",
        office_kind=_K.CIS,
        channels=_RECORDED,
        year="current",
    ),
    _Scenario(
        "ir_etudiant",
        _I,
        "question.income_return",
        "income_tax",
        "Salaires d'été d'un enfant étudiant rattaché au foyer",
        "L'usager demande si les salaires d'été de son fils étudiant (3 200 €), rattaché au "
        "foyer, doivent être déclarés.",
        "Mon fils de 22 ans est étudiant et rattaché à notre foyer fiscal. Il a travaillé cet "
        "été et a gagné 3 200 €. Devons-nous déclarer ces salaires ?",
        "Les salaires perçus par un étudiant de 25 ans au plus sont exonérés dans la limite de "
        "trois fois le montant mensuel du SMIC. Les 3 200 € perçus par votre fils étant sous ce "
        "plafond, vous n'avez pas à les déclarer.",
        "Réponse apportée",
        "Pour vous répondre précisément, pourriez-vous nous indiquer si votre fils a perçu "
        "d'autres revenus dans l'année (stage, bourse) ?",
        "Il a aussi perçu une bourse sur critères sociaux, mais pas de gratification de stage.",
    ),
    _Scenario(
        "ir_frais_reels",
        _I,
        "question.income_return",
        "income_tax",
        "Frais réels : trajets domicile-travail de plus de 40 km",
        "L'usager demande s'il peut déduire la totalité de ses 45 km de trajet aux frais réels.",
        "Je fais 45 km aller pour me rendre au travail. Puis-je déduire la totalité des "
        "kilomètres aux frais réels ?",
        "La déduction des frais de trajet est en principe limitée à 40 km par trajet. Au-delà, "
        "vous devez pouvoir justifier de circonstances particulières (emploi précaire, "
        "conjoint travaillant dans une autre ville, difficultés de logement…). Conservez les "
        "justificatifs : ils peuvent vous être demandés.",
        "Réponse apportée",
        "Pourriez-vous nous préciser les raisons pour lesquelles vous résidez à cette distance "
        "de votre lieu de travail ?",
        "Mon épouse travaille à Saint-Étienne et moi à Lyon : nous habitons à mi-chemin.",
    ),
    _Scenario(
        "pas_emploi",
        _I,
        "question.withholding",
        "withholding",
        "Quel taux de prélèvement pour mon nouvel emploi ?",
        "L'usager reprend un emploi après deux ans sans activité et demande quel taux de "
        "prélèvement à la source sera appliqué.",
        "Je commence un nouveau CDI le mois prochain après deux ans sans activité. Quel taux "
        "de prélèvement à la source mon employeur va-t-il appliquer ?",
        "En l'absence de taux transmis, votre employeur appliquera le taux non personnalisé "
        "(grille de taux par défaut). Vous pouvez signaler votre reprise d'activité dans votre "
        "espace, rubrique « Gérer mon prélèvement à la source », pour obtenir un taux adapté.",
        "Réponse apportée",
        "Pourriez-vous nous indiquer le salaire mensuel net prévu dans votre contrat ?",
        "Le contrat prévoit 2 150 € nets par mois, sur treize mois.",
    ),
    _Scenario(
        "pas_acomptes",
        _I,
        "question.withholding",
        "withholding",
        "Arrêter les acomptes après la vente de mon appartement loué",
        "L'usager a vendu son appartement loué en mai et demande comment arrêter les acomptes "
        "sur revenus fonciers.",
        "J'ai vendu en mai l'appartement que je louais : je ne perçois plus de loyers. "
        "Comment arrêter les acomptes de prélèvement à la source ?",
        "Vous pouvez supprimer vos acomptes depuis votre espace, rubrique « Gérer mes "
        "acomptes ». Compte tenu de la vente, nous avons procédé à cette suppression : plus "
        "aucun acompte ne sera prélevé à compter du mois prochain.",
        "Acomptes supprimés",
        "Merci de nous indiquer la date de signature de l'acte de vente.",
        "L'acte de vente a été signé le 22 mai.",
    ),
    _Scenario(
        "thrs_location",
        _I,
        "question.second_home",
        "second_home",
        "Taxe d'habitation sur un logement loué à l'année",
        "L'usager a reçu une taxe d'habitation sur les résidences secondaires pour un "
        "appartement qu'il loue à l'année à un étudiant.",
        "J'ai reçu une taxe d'habitation pour le studio que je possède et que je loue depuis "
        "le 1er janvier {annee} à un étudiant. Ce n'est pourtant pas une résidence secondaire.",
        "Votre déclaration d'occupation n'avait pas été mise à jour. Nous avons pris en compte "
        "la location au 1er janvier {annee} : l'imposition est annulée. Pensez à mettre à jour "
        "l'occupation dans la rubrique « Biens immobiliers » à chaque changement de locataire.",
        "Imposition annulée",
        "Pourriez-vous nous indiquer le nom du locataire et la date de début du bail ?",
        "Le locataire est M. Arthur Lenoir, le bail a pris effet le 1er septembre de l'année "
        "précédente.",
        year="levy",
    ),
    _Scenario(
        "biens_occupation",
        _I,
        "question.property",
        "property_tax",
        "Déclaration d'occupation d'un logement vacant",
        "L'usager demande comment déclarer un logement hérité, vacant depuis plusieurs mois.",
        "J'ai hérité d'un appartement qui est vide depuis le décès de ma mère. Comment le "
        "déclarer dans « Biens immobiliers » et serai-je imposé sur ce logement vacant ?",
        "Vous devez déclarer le logement comme vacant dans la rubrique « Biens immobiliers ». "
        "Dans votre commune, la taxe sur les logements vacants s'applique après un an de "
        "vacance ; une succession en cours de règlement peut justifier la vacance.",
        "Réponse apportée",
        "Pourriez-vous nous indiquer l'adresse du logement et la date du décès ?",
        "Le logement se situe dans ma commune, deux rues plus loin ; ma mère est décédée le "
        "2 février.",
        year="levy",
    ),
    _Scenario(
        "ifi_abattement",
        _I,
        "claim.amount",
        "ifi",
        "IFI {annee} : abattement sur la résidence principale",
        "L'usager conteste le montant de son IFI {annee}, estimant que l'abattement de 30 % sur "
        "la résidence principale n'a pas été appliqué.",
        "Je conteste le montant de mon impôt sur la fortune immobilière {annee} : l'abattement "
        "de 30 % sur ma résidence principale ne semble pas avoir été appliqué.",
        "Après vérification, l'abattement de 30 % a bien été appliqué : la valeur déclarée de "
        "612 000 € a été retenue pour 428 400 €. Le montant de votre IFI est donc confirmé.",
        "Réclamation rejetée",
        "Pourriez-vous nous préciser la valeur que vous avez déclarée pour votre résidence "
        "principale et la ligne de la déclaration concernée ?",
        "J'ai déclaré 612 000 € pour ma résidence principale, ligne 9AA de la déclaration.",
    ),
    _Scenario(
        "famille_mariage",
        _I,
        "information.family",
        "withholding",
        "Mariage : changement de situation de famille",
        "L'usager signale son mariage et demande les conséquences sur son prélèvement à la source.",
        "Je me suis marié le 14 juin dernier. Comment déclarer ce changement et que devient "
        "notre prélèvement à la source ?",
        "Nous avons bien pris note de votre mariage. Il doit être déclaré dans les 60 jours "
        "dans votre espace, rubrique « Gérer mon prélèvement à la source », puis « Déclarer un "
        "changement de situation de famille ». Un taux commun au foyer sera alors calculé.",
        "Information enregistrée",
        "Merci de nous indiquer le numéro fiscal de votre conjoint.",
        "Le numéro fiscal de mon épouse est 0216 458 733 109.",
        year="current",
    ),
    _Scenario(
        "famille_naissance",
        _I,
        "information.family",
        "withholding",
        "Naissance de notre deuxième enfant",
        "L'usager signale la naissance de son deuxième enfant et souhaite actualiser son taux de "
        "prélèvement.",
        "Notre fille est née le 3 mars. Nous souhaitons actualiser notre taux de prélèvement à "
        "la source.",
        "Félicitations pour cette naissance. Nous l'avons enregistrée : votre taux sera "
        "recalculé et transmis à vos employeurs dans un délai de deux mois environ.",
        "Information enregistrée",
        "Pourriez-vous nous confirmer le prénom et la date de naissance de l'enfant ?",
        "Elle s'appelle Jeanne, née le 3 mars ; l'acte de naissance est à votre disposition.",
        year="current",
    ),
    _Scenario(
        "adresse",
        _I,
        "information.address",
        None,
        "Changement d'adresse après un déménagement",
        "L'usager signale son déménagement et sa nouvelle adresse.",
        "J'ai déménagé le 1er du mois : ma nouvelle adresse est {adresse}. Merci de la mettre à "
        "jour.",
        "Votre nouvelle adresse a été enregistrée. Elle figurera sur vos prochains avis ; vos "
        "contrats de prélèvement sont maintenus.",
        "Adresse mise à jour",
        "Pourriez-vous nous indiquer si vous êtes propriétaire ou locataire du nouveau logement ?",
        "Je suis locataire du nouveau logement ; l'ancien a été vendu.",
        year="current",
    ),
    _Scenario(
        "dons",
        _I,
        "information.documents",
        "income_tax",
        "Reçus fiscaux de dons aux associations",
        "L'usager transmet les reçus fiscaux de ses dons (450 €) demandés pour la réduction "
        "d'impôt des revenus {annee}.",
        "Suite à votre demande, je vous transmets les reçus fiscaux de mes dons : Restos du "
        "Cœur (300 €) et Secours populaire (150 €).",
        "Nous accusons réception de vos justificatifs ; la réduction d'impôt au titre des dons "
        "est confirmée. Aucune autre démarche n'est nécessaire.",
        "Pièces enregistrées",
        "Les reçus transmis sont difficilement lisibles : pourriez-vous nous en préciser les "
        "numéros d'ordre et les dates ?",
        "Reçu n° 2031-884 du 12 décembre (300 €) et reçu n° SP-1177 du 20 novembre (150 €).",
    ),
    _Scenario(
        "tva_emporter",
        _B,
        "question.vat",
        "vat",
        "Taux de TVA des boissons vendues à emporter",
        "L'entreprise demande le taux de TVA applicable aux boissons vendues à emporter dans "
        "une formule sandwich.",
        "Nous vendons des sandwichs et des boissons à emporter, souvent en formule. Quel taux "
        "de TVA appliquer aux boissons non alcoolisées vendues dans une formule ?",
        "Les ventes à emporter de produits alimentaires destinés à une consommation immédiate "
        "relèvent du taux de 10 %, y compris les boissons non alcoolisées. Les boissons "
        "alcooliques restent au taux de 20 % : dans une formule, le prix doit alors être "
        "ventilé.",
        "Réponse apportée",
        "Pourriez-vous nous préciser si vous proposez des boissons alcooliques ?",
        "Non, uniquement des jus de fruits, sodas et eaux minérales.",
        year="current",
        scripted=True,
    ),
    _Scenario(
        "tva_credit",
        _B,
        "claim.vat_refund",
        "vat",
        "Remboursement d'un crédit de TVA de 18 420 €",
        "L'entreprise relance sa demande de remboursement de crédit de TVA (18 420 €) déposée "
        "il y a deux mois.",
        "Nous avons déposé il y a deux mois une demande de remboursement de crédit de TVA "
        "(formulaire 3519) de 18 420 €, à la suite d'importants investissements. Nous n'avons "
        "aucune nouvelle.",
        "Votre demande a été instruite et le remboursement de 18 420 € validé. Le virement "
        "interviendra sous huit jours sur le compte bancaire professionnel enregistré.",
        "Remboursement accordé",
        "Merci de nous transmettre les factures d'acquisition des immobilisations et le tableau "
        "des immobilisations de l'exercice.",
        "Vous trouverez les factures d'acquisition (véhicule utilitaire et matériel, 110 500 € "
        "TTC au total) et le tableau des immobilisations à jour.",
    ),
    _Scenario(
        "tva_depot",
        _B,
        "difficulty.vat_return",
        "vat",
        "Impossible de déposer la déclaration de TVA CA3",
        "L'entreprise ne parvient pas à déposer sa déclaration de TVA mensuelle (message « le "
        "compte n'est pas adhérent au service »).",
        "Lors du dépôt de notre déclaration de TVA mensuelle, nous obtenons le message « Le "
        "compte fiscal n'est pas adhérent au service ». L'échéance est dans trois jours.",
        "L'adhésion au service « Déclarer TVA » n'avait pas été activée pour le nouveau gérant. "
        "Nous l'avons rétablie. Si vous déposez d'ici la fin de la semaine, aucune pénalité "
        "ne sera appliquée au titre de cet incident.",
        "Accès rétabli",
        "Pourriez-vous nous indiquer le nom de l'administrateur de votre espace professionnel ?",
        "L'administrateur de notre espace est notre gérant, en fonction depuis le 1er avril.",
        year="current",
    ),
    _Scenario(
        "cfe_creation",
        _B,
        "question.cfe",
        "cfe",
        "CFE la première année d'activité",
        "L'entreprise, créée en mars, demande si elle est redevable de la CFE cette année.",
        "J'ai créé mon entreprise en mars. Suis-je redevable de la cotisation foncière des "
        "entreprises cette année ?",
        "L'année de la création, la CFE n'est pas due. L'année suivante, votre base est réduite "
        "de moitié. Pensez à déposer la déclaration initiale 1447-C avant le 31 décembre.",
        "Réponse apportée",
        "Pourriez-vous nous préciser la date exacte d'immatriculation de l'entreprise ?",
        "L'entreprise a été immatriculée le 14 mars.",
        year="current",
    ),
    _Scenario(
        "cfe_base",
        _B,
        "claim.amount",
        "cfe",
        "Contestation de la base minimum de CFE {annee}",
        "L'entreprise conteste la tranche de base minimum de CFE retenue pour {annee}.",
        "La base minimum de CFE {annee} correspond à un chiffre d'affaires supérieur au nôtre : "
        "nous avons réalisé 28 000 € HT. Merci de corriger.",
        "La tranche de base minimum a été corrigée au vu du chiffre d'affaires déclaré. Un "
        "dégrèvement de 312 € a été prononcé ; il vous sera remboursé par virement.",
        "Dégrèvement accordé",
        "Merci de nous transmettre le chiffre d'affaires réalisé au cours de l'avant-dernière "
        "année, tel qu'il figure sur votre déclaration de résultat.",
        "Le chiffre d'affaires de référence est de 28 140 € HT (déclaration 2031 déposée en mai).",
        year="levy",
    ),
    _Scenario(
        "is_delai",
        _B,
        "difficulty.payment_plan",
        "corporate_tax",
        "Plan de règlement pour le solde d'impôt sur les sociétés",
        "L'entreprise sollicite un étalement sur six mois du solde d'impôt sur les sociétés "
        "(24 600 €).",
        "Notre trésorerie est tendue depuis la perte d'un client important. Nous sollicitons un "
        "étalement sur six mois du solde d'impôt sur les sociétés de 24 600 €.",
        "Un plan de règlement sur six mois vous est accordé, sous réserve du respect de vos "
        "obligations déclaratives et de paiement courantes. Les échéances de 4 100 € seront "
        "prélevées le 20 de chaque mois.",
        "Plan de règlement accordé",
        "Merci de nous transmettre un plan de trésorerie prévisionnel sur six mois et votre "
        "dernier relevé bancaire.",
        "Vous trouverez notre plan de trésorerie prévisionnel établi par notre expert-comptable "
        "et le relevé du mois dernier.",
    ),
    _Scenario(
        "siege",
        _B,
        "information.address",
        None,
        "Transfert du siège social",
        "L'entreprise signale le transfert de son siège social au 1er du mois prochain.",
        "Notre siège social est transféré au 40 rue de la Talaudière à Saint-Étienne au 1er du "
        "mois prochain. La formalité a été enregistrée auprès du guichet unique.",
        "Nous prenons note du transfert de votre siège social. Votre dossier sera géré par le "
        "SIE compétent pour votre nouvelle adresse à compter de la date du transfert.",
        "Information enregistrée",
        "Pourriez-vous nous transmettre l'extrait Kbis mentionnant la nouvelle adresse ?",
        "Voici le Kbis à jour, daté de la semaine dernière.",
        year="current",
    ),
    _Scenario(
        "franchise",
        _B,
        "question.vat",
        "vat",
        "Franchise en base de TVA : dépassement du seuil",
        "L'entreprise demande à partir de quand facturer la TVA en cas de dépassement du seuil "
        "de la franchise en base.",
        "Mon chiffre d'affaires de prestations de services va dépasser le seuil de la franchise "
        "en base cette année. À partir de quand dois-je facturer la TVA ?",
        "Si seul le seuil de base est dépassé, la franchise continue de s'appliquer jusqu'au "
        "31 décembre. En revanche, si le seuil majoré est dépassé, vous devenez redevable de la "
        "TVA dès le jour du dépassement.",
        "Réponse apportée",
        "Pourriez-vous nous indiquer le chiffre d'affaires réalisé depuis le 1er janvier ?",
        "Nous en sommes à 36 500 € HT au 30 septembre.",
        year="current",
    ),
    _Scenario(
        "is_integration",
        _B,
        "question.corporate_tax",
        "corporate_tax",
        "Intégration fiscale : entrée d'une nouvelle filiale",
        "Le groupe demande les formalités pour faire entrer une filiale dans son périmètre "
        "d'intégration fiscale.",
        "Nous souhaitons faire entrer notre filiale Forez Logistique SAS dans le périmètre "
        "d'intégration fiscale à compter de l'exercice ouvert le 1er janvier. Quelles pièces "
        "transmettre et dans quel délai ?",
        "L'option doit être notifiée au plus tard à la date limite de dépôt de la déclaration "
        "de résultat de l'exercice précédant celui de l'entrée dans le périmètre, accompagnée "
        "de l'accord de la filiale et de la liste des sociétés membres.",
        "Réponse apportée",
        "Pourriez-vous nous préciser le pourcentage de détention du capital de la filiale ?",
        "Le groupe détient 97,5 % du capital de Forez Logistique SAS depuis le 1er mars.",
        office_kind=_K.LARGE_COMPANIES,
        channels=(Channel.ONLINE, Channel.LETTER),
        year="current",
        large=True,
    ),
    _Scenario(
        "is_acomptes",
        _B,
        "question.corporate_tax",
        "corporate_tax",
        "Modulation du dernier acompte d'impôt sur les sociétés",
        "Le groupe demande s'il peut moduler son dernier acompte d'impôt sur les sociétés.",
        "Nos prévisions de résultat pour l'exercice sont en baisse de 20 %. Pouvons-nous "
        "réduire le montant du dernier acompte d'impôt sur les sociétés ?",
        "Vous pouvez moduler le dernier acompte sous votre responsabilité. Si l'impôt finalement "
        "dû excède de plus de 10 % les acomptes versés, l'intérêt de retard et la majoration "
        "s'appliqueront à la différence.",
        "Réponse apportée",
        "Pourriez-vous nous indiquer le montant estimé de l'impôt dû au titre de l'exercice ?",
        "Notre estimation est de 3,8 M€, contre 4,7 M€ l'an dernier.",
        office_kind=_K.LARGE_COMPANIES,
        channels=(Channel.ONLINE, Channel.PHONE),
        year="current",
        large=True,
    ),
)

_NOTES = (
    "Dossier vérifié dans l'application de gestion : les éléments de l'usager sont cohérents.",
    "Usager déjà reçu au guichet le mois dernier pour le même sujet.",
    "Vu avec le chef de service : accord pour traiter dans ce sens.",
    "Attendre la mise à jour de la situation dans l'application avant de répondre.",
    "Rappeler l'usager si les pièces ne sont pas reçues sous quinze jours.",
    "Montant vérifié sur l'avis : la demande paraît fondée.",
)

_FOLLOW_UPS = (
    (
        "Merci pour votre réponse. Dois-je faire une démarche de mon côté ?",
        "Aucune démarche supplémentaire n'est nécessaire de votre part : la correction sera "
        "visible dans votre espace sous quelques jours.",
    ),
    (
        "Merci pour ces précisions. Recevrai-je un courrier de confirmation ?",
        "Oui : un avis vous sera adressé par courrier. Il sera également disponible dans votre "
        "espace, rubrique « Documents ».",
    ),
)

# --- Helpers ------------------------------------------------------------------------------------


def _ascii(text: str) -> str:
    """Lower-case ASCII for e-mail addresses: 'Élodie Lefèvre' -> 'elodie lefevre'."""
    decomposed = unicodedata.normalize("NFKD", text)
    return decomposed.encode("ascii", "ignore").decode("ascii").lower()


def _email_part(text: str) -> str:
    return "".join(ch if ch.isalnum() else "-" for ch in _ascii(text)).strip("-")


def _french_date(moment: datetime) -> str:
    return f"{moment.day:02d}/{moment.month:02d}/{moment.year}"


@dataclass
class _Msg:
    author_kind: AuthorKind
    body: str
    at: datetime
    agent: Agent | None = None
    office: Office | None = None
    internal: bool = False
    requests_information: bool = False
    record: bool = False  # an agent's record of a phone call, visit or letter
    read_at: datetime | None = None


@dataclass
class _Ev:
    kind: EventKind
    at: datetime
    office: Office
    agent: Agent | None = None
    by_taxpayer: bool = False
    data: dict[str, Any] = field(default_factory=dict)


@dataclass
class _Tr:
    from_office: Office
    to_office: Office
    reason: str
    agent: Agent
    at: datetime
    ack_at: datetime | None = None
    ack_by: Agent | None = None


@dataclass
class _Plan:
    """How one case unfolds; None: let the generator choose."""

    scenario: str
    channel: Channel
    status: CaseStatus
    age_days: float
    entry: str | None = None  # office code where it arrived; None: the competent office
    competent: str | None = None  # office code that handles it; None: from the scenario
    transfer_ack: bool = True
    quick: bool | None = None  # answered on the spot (phone, counter)
    info_exchange: bool | None = None
    follow_up: bool | None = None
    note: bool | None = None
    unread: bool | None = None
    visible: bool = True


class _Thread:
    """The timeline of one case, built forward in time, then turned into rows."""

    def __init__(
        self,
        demo: _Demo,
        taxpayer: Taxpayer,
        scenario: _Scenario,
        channel: Channel,
        office: Office,
        received_at: datetime,
        rng: random.Random,
    ) -> None:
        self.demo = demo
        # Its own generator: how dates fall (weekends, office hours) changes with the day the data
        # is loaded, and must not change what the other cases are.
        self.rng = rng
        self.taxpayer = taxpayer
        self.scenario = scenario
        self.channel = channel
        self.office = office
        self.received_at = received_at
        self.t = received_at
        self.messages: list[_Msg] = []
        self.events: list[_Ev] = []
        self.transfers: list[_Tr] = []
        self.status = CaseStatus.NEW
        self.assignee: Agent | None = None
        self.created_by: Agent | None = None
        self.first_answer_at: datetime | None = None
        self.closed_at: datetime | None = None
        self.outcome: str | None = None
        self.awaiting_ack = False
        self.unread_by_office = False

    # Time -------------------------------------------------------------------------------------

    def wait(self, low_hours: float, high_hours: float, *, office_hours: bool = True) -> None:
        self.t += timedelta(seconds=round(self.rng.uniform(low_hours, high_hours) * 3600))
        if office_hours:
            self.t = self.demo.work_time(self.t, self.rng)

    # Words ------------------------------------------------------------------------------------

    def _from_taxpayer(self, core: str) -> str:
        return f"Bonjour,\n\n{core}\n\nCordialement,\n{self.taxpayer.display_name}"

    def _from_office(self, core: str) -> str:
        return f"Madame, Monsieur,\n\n{core}\n\n{_POLITE_END}\n\n{self.office.name}"

    # Steps ------------------------------------------------------------------------------------

    def _event(self, kind: EventKind, agent: Agent | None = None, **data: Any) -> None:
        self.events.append(
            _Ev(kind, self.t, self.office, agent=agent, by_taxpayer=agent is None, data=data)
        )

    def _agent_acts(self) -> None:
        for message in self.messages:
            if message.author_kind is AuthorKind.TAXPAYER and message.read_at is None:
                message.read_at = self.t
        self.unread_by_office = False

    def _agent_message(
        self,
        agent: Agent,
        body: str,
        *,
        internal: bool = False,
        requests_information: bool = False,
        record: bool = False,
    ) -> None:
        self._agent_acts()
        self.messages.append(
            _Msg(
                AuthorKind.AGENT,
                body,
                self.t,
                agent=agent,
                office=self.office,
                internal=internal,
                requests_information=requests_information,
                record=record,
            )
        )

    def open(self) -> None:
        if self.channel is Channel.ONLINE:
            self.messages.append(
                _Msg(AuthorKind.TAXPAYER, self._from_taxpayer(self.scenario.question), self.t)
            )
            self._event(EventKind.RECEIVED, channel=self.channel.value)
            self.unread_by_office = True
            return
        agent = self.demo.pick_agent(self.office)
        self.created_by = agent
        prefix = {
            Channel.PHONE: "Appel téléphonique.",
            Channel.COUNTER: "Accueil au guichet.",
            Channel.LETTER: f"Courrier reçu le {_french_date(self.t)}.",
        }[self.channel]
        self._agent_message(agent, f"{prefix} {self.scenario.summary}", record=True)
        self._event(EventKind.CONTACT_RECORDED, agent, channel=self.channel.value)

    def transfer(self, to_office: Office, *, acknowledged: bool) -> None:
        agent = self.assignee or self.demo.pick_agent(self.office)
        self._agent_acts()
        reason = self.demo.transfer_reason(self.office, to_office, self.taxpayer)
        transfer = _Tr(self.office, to_office, reason, agent, self.t)
        self.transfers.append(transfer)
        self._event(
            EventKind.TRANSFERRED,
            agent,
            from_office_id=self.office.id,
            to_office_id=to_office.id,
            reason=reason,
        )
        self.office = to_office
        self.assignee = None
        if not acknowledged:
            self.awaiting_ack = True
            self.unread_by_office = True
            return
        self.wait(0.5, 30)
        by = self.demo.pick_agent(to_office)
        transfer.ack_at, transfer.ack_by = self.t, by
        self._event(
            EventKind.TRANSFER_ACKNOWLEDGED,
            by,
            from_office_id=transfer.from_office.id,
            to_office_id=to_office.id,
        )

    def assign(self, agent: Agent | None = None) -> None:
        agent = agent or self.demo.pick_agent(self.office)
        self._agent_acts()
        self.assignee = agent
        self.status = CaseStatus.IN_PROGRESS
        self._event(EventKind.ASSIGNED, agent, assignee_id=agent.id, status=self.status.value)

    def note(self, body: str) -> None:
        agent = self.assignee or self.demo.pick_agent(self.office)
        self._agent_message(agent, body, internal=True)
        self._event(EventKind.NOTE_ADDED, agent)

    def request_information(self) -> None:
        agent = self.assignee or self.demo.pick_agent(self.office)
        body = self._from_office(self.scenario.info_request)
        self._agent_message(agent, body, requests_information=True)
        self.status = CaseStatus.AWAITING_TAXPAYER
        self.first_answer_at = self.first_answer_at or self.t
        self._event(EventKind.INFORMATION_REQUESTED, agent, status=self.status.value)

    def taxpayer_reply(self, core: str) -> None:
        for message in self.messages:
            if message.author_kind is AuthorKind.AGENT and not message.internal:
                message.read_at = message.read_at or self.t
        self.messages.append(_Msg(AuthorKind.TAXPAYER, self._from_taxpayer(core), self.t))
        self.status = CaseStatus.IN_PROGRESS
        self.unread_by_office = True
        self._event(EventKind.TAXPAYER_REPLIED, status=self.status.value)

    def answer(self, core: str, *, spoken: bool = False) -> None:
        agent = self.assignee or self.demo.pick_agent(self.office)
        if spoken:
            where = "par téléphone" if self.channel is Channel.PHONE else "au guichet"
            self._agent_message(agent, f"Réponse apportée {where} : {core}", record=True)
        else:
            self._agent_message(agent, self._from_office(core))
        self.first_answer_at = self.first_answer_at or self.t
        self._event(EventKind.ANSWERED, agent)

    def close(self) -> None:
        agent = self.assignee or self.demo.pick_agent(self.office)
        self.t += timedelta(minutes=self.rng.randint(1, 4))
        self.status = CaseStatus.CLOSED
        self.closed_at = self.t
        self.outcome = self.scenario.outcome
        self._event(EventKind.CLOSED, agent, status=self.status.value, outcome=self.outcome)

    # Rows -------------------------------------------------------------------------------------

    def _moments(self) -> list[datetime]:
        moments = [self.received_at, self.t]
        moments += [m.at for m in self.messages] + [e.at for e in self.events]
        moments += [t.ack_at or t.at for t in self.transfers]
        return moments

    def _shift(self, delta: timedelta) -> None:
        self.received_at -= delta
        self.t -= delta
        for message in self.messages:
            message.at -= delta
            if message.read_at is not None:
                message.read_at -= delta
        for event in self.events:
            event.at -= delta
        for transfer in self.transfers:
            transfer.at -= delta
            if transfer.ack_at is not None:
                transfer.ack_at -= delta
        if self.first_answer_at is not None:
            self.first_answer_at -= delta
        if self.closed_at is not None:
            self.closed_at -= delta

    def build(self, *, unread: bool | None, visible: bool) -> Case:
        demo, rng = self.demo, self.rng
        # Keep the whole story in the past: move it back by whole weeks (same days and hours).
        latest = max(self._moments())
        limit = demo.now - timedelta(minutes=20)
        if latest > limit:
            weeks = math.ceil((latest - limit) / timedelta(days=7))
            self._shift(timedelta(days=7 * weeks))

        scenario = self.scenario
        year = self.received_at.year
        tax_year: int | None = None
        if scenario.matter and demo.matters[scenario.matter].asks_year:
            tax_year = {
                "income": year - 1,
                "levy": year if self.received_at.month >= 9 else year - 1,
            }.get(scenario.year, year)

        taxpayer = self.taxpayer
        address = f"{taxpayer.address_line}, {taxpayer.postcode} {taxpayer.city}"

        def fill(text: str) -> str:
            text = text.replace("{adresse}", address)
            return text.replace("{annee}", str(tax_year)) if tax_year else text

        # Read receipts of the office's messages; the last one may still be unread.
        sent = [m for m in self.messages if m.author_kind is AuthorKind.AGENT]
        sent = [m for m in sent if not m.internal and not m.record]
        if unread is None:
            recent = bool(sent) and demo.now - sent[-1].at < timedelta(days=21)
            unread = recent and rng.random() < 0.5
        unread = unread and bool(sent) and sent[-1].read_at is None
        for message in sent:
            if message.read_at is None and not (unread and message is sent[-1]):
                read_at = message.at + timedelta(hours=rng.uniform(1, 60))
                if read_at < demo.now:
                    message.read_at = read_at
                elif message is sent[-1]:
                    unread = True

        topic = demo.topics[scenario.topic]
        case = Case(
            reference=demo.new_reference(self.received_at),
            taxpayer=self.taxpayer,
            channel=self.channel,
            topic=topic,
            tax_matter=demo.matters[scenario.matter] if scenario.matter else None,
            tax_year=tax_year,
            subject=fill(scenario.subject)[:200],
            status=self.status,
            office=self.office,
            assignee=self.assignee,
            created_by=self.created_by,
            recording_office=(
                self.created_by.office
                if self.created_by is not None and self.channel is not Channel.ONLINE
                else None
            ),
            received_at=self.received_at,
            first_answer_at=self.first_answer_at,
            closed_at=self.closed_at,
            due_at=self.received_at + timedelta(days=topic.target_days or 30),
            last_activity_at=max(self._moments()[2:] or [self.received_at]),
            outcome=self.outcome,
            visible_to_taxpayer=visible,
            unread_by_taxpayer=unread,
            unread_by_office=self.unread_by_office,
            awaiting_acknowledgement=self.awaiting_ack,
            version=1,
        )
        db.session.add(case)
        for m in self.messages:
            db.session.add(
                Message(
                    case=case,
                    author_kind=m.author_kind,
                    author_agent=m.agent,
                    author_office=m.office,
                    body=fill(m.body),
                    internal=m.internal,
                    requests_information=m.requests_information,
                    created_at=m.at,
                    read_at=m.read_at,
                )
            )
        for t in self.transfers:
            db.session.add(
                Transfer(
                    case=case,
                    from_office=t.from_office,
                    to_office=t.to_office,
                    reason=t.reason,
                    agent=t.agent,
                    created_at=t.at,
                    acknowledged_at=t.ack_at,
                    acknowledged_by=t.ack_by,
                )
            )
        demo.pending_events.append((case, self.taxpayer, self.events))
        demo.message_count += len(self.messages)
        demo.transfer_count += len(self.transfers)
        return case


class _Demo:
    def __init__(self, progress: Callable[[str], object]) -> None:
        self.progress = progress
        self.rng = random.Random(SEED)
        self.now = datetime.now(UTC).replace(microsecond=0)
        self.offices: dict[str, Office] = {}
        self.kinds: dict[str, OfficeKind] = {}
        self.territories: dict[str, tuple[tuple[str, str | None], ...]] = {}
        self.agents: dict[str, list[Agent]] = {}
        self.topics: dict[str, Topic] = {}
        self.matters: dict[str, TaxMatter] = {}
        self.individuals: list[Taxpayer] = []
        self.businesses: list[Taxpayer] = []
        self.large: set[int] = set()
        self.references: set[str] = set()
        self.pending_events: list[tuple[Case, Taxpayer, list[_Ev]]] = []
        self.case_count = 0
        self.message_count = 0
        self.transfer_count = 0
        # One scrypt hash for every account: hashing each one would take seconds.
        self.password_hash = generate_password_hash(DEMO_PASSWORD, method="scrypt")

    # Shared helpers ---------------------------------------------------------------------------

    def work_time(self, moment: datetime, rng: random.Random) -> datetime:
        """The same moment if within office hours (UTC 7:00-16:00, Monday-Friday), else the
        start of the next working morning."""
        while True:
            if moment.weekday() >= 5 or moment.hour >= 16:
                moment = (moment + timedelta(days=1)).replace(hour=7, minute=0)
                moment += timedelta(minutes=rng.randint(0, 90))
            elif moment.hour < 7:
                moment = moment.replace(hour=7, minute=rng.randint(0, 59))
            else:
                return moment

    def pick_agent(self, office: Office) -> Agent:
        agents = self.agents[office.code]
        return self.rng.choice([*agents[:2], *agents[:2], agents[-1]])

    def new_reference(self, received_at: datetime) -> str:
        while True:
            reference = make_reference(received_at.year, self.rng)
            if reference not in self.references:
                self.references.add(reference)
                return reference

    def office_for(self, kind: KindCode, commune_code: str) -> Office:
        """The office of that kind competent for the commune: a commune beats a département."""
        departement = commune_code[:2]
        best: Office | None = None
        for code, office in self.offices.items():
            if office.kind.code != kind:
                continue
            for dep, commune in self.territories[code]:
                if commune == commune_code:
                    return office
                if dep == departement and commune is None:
                    best = office
        if best is None:
            raise LookupError(f"no {kind} competent for {commune_code}")
        return best

    def transfer_reason(self, source: Office, target: Office, taxpayer: Taxpayer) -> str:
        if target.kind.code == _K.CDIF:
            return (
                f"Le bien est situé dans le ressort du {target.name} : la mise à jour des "
                "données foncières relève de ce service."
            )
        if target.kind.code == _K.CPS:
            return (
                "Demande relative à un prélèvement (mensualisation, acomptes) : elle relève du "
                f"{target.name}."
            )
        if target.kind.code == _K.LARGE_COMPANIES:
            return (
                "L'entreprise relève de la Direction des grandes entreprises : transmission à "
                "l'IFU de la DGE, gestionnaire de son dossier."
            )
        if target.kind.code == _K.SIE:
            return (
                f"Demande d'un professionnel : transmise au {target.name}, gestionnaire du dossier."
            )
        if source.kind.code == _K.TREASURY:
            return (
                f"Usager reçu au guichet de la {source.name} (accueil de proximité) : la demande "
                f"relève du {target.name}, compétent pour son domicile."
            )
        return (
            "La demande nécessite l'examen du dossier fiscal de l'usager : transmise au "
            f"{target.name}, compétent pour son domicile ({taxpayer.city})."
        )

    # The directory and the people ---------------------------------------------------------------

    def add_offices(self) -> None:
        # The kinds are rows the migrations created: the demo only picks them by code.
        self.kinds = {kind.code: kind for kind in db.session.scalars(select(OfficeKind))}
        for spec in _OFFICES:
            office = Office(
                code=spec.code,
                name=spec.name,
                kind=self.kinds[spec.kind],
                parent=self.offices[spec.parent] if spec.parent else None,
                email=spec.email,
                phone=spec.phone,
                address=spec.address,
                active=True,
            )
            office.territories = [
                OfficeTerritory(departement=dep, commune_code=commune)
                for dep, commune in spec.territories
            ]
            db.session.add(office)
            self.offices[spec.code] = office
            self.territories[spec.code] = spec.territories
        db.session.flush()
        for office in self.offices.values():  # parents come first in _OFFICES
            office.path = office.compute_path()
        territory_count = sum(len(spec.territories) for spec in _OFFICES)
        self.progress(f"Offices: {len(self.offices)} (territories: {territory_count})")

    def add_directory(self) -> None:
        for position, (code, label, days, kind, children) in enumerate(_TOPICS, start=1):
            parent = Topic(
                code=code, label=label, target_days=days, taxpayer_kind=kind, position=position
            )
            db.session.add(parent)
            self.topics[code] = parent
            for child_position, (child_code, child_label, child_kind) in enumerate(children, 1):
                child = Topic(
                    code=child_code,
                    label=child_label,
                    parent=parent,
                    taxpayer_kind=child_kind,
                    target_days=days,
                    position=child_position,
                )
                db.session.add(child)
                self.topics[child_code] = child
        for position, (code, label, kind, asks_year) in enumerate(_TAX_MATTERS, start=1):
            matter = TaxMatter(
                code=code, label=label, taxpayer_kind=kind, asks_year=asks_year, position=position
            )
            db.session.add(matter)
            self.matters[code] = matter
        for topic_code, matter_code, kind, office_kind in _ROUTING_RULES:
            db.session.add(
                RoutingRule(
                    topic=self.topics[topic_code] if topic_code else None,
                    tax_matter=self.matters[matter_code] if matter_code else None,
                    taxpayer_kind=kind,
                    office_kind=self.kinds[office_kind],
                )
            )
        for title, office_code, topic_code, body in _REPLY_TEMPLATES:
            db.session.add(
                ReplyTemplate(
                    title=title,
                    body=body,
                    office=self.offices[office_code] if office_code else None,
                    topic=self.topics[topic_code] if topic_code else None,
                )
            )
        self.add_agentday_directory()
        self.progress(
            f"Topics: {len(self.topics)}, tax matters: {len(self.matters)}, "
            f"routing rules: {len(_ROUTING_RULES)}, reply templates: {len(_REPLY_TEMPLATES)}"
        )

    def add_agentday_directory(self) -> None:
        """Outcomes of claims, the SIP Lyon 3e's tags and macros (issue 16)."""
        outcomes = {}
        for position, (code, label) in enumerate(_CLAIM_OUTCOMES, start=10):
            outcome = ClosingOutcome(
                code=code, label=label, topic=self.topics["claim"], position=position
            )
            db.session.add(outcome)
            outcomes[code] = outcome
        office = self.offices["SIP-LYON3"]
        for name in _OFFICE_TAGS:
            db.session.add(Tag(office_id=office.id, name=name))
        for title, topic_code, action, outcome_code, body in _MACROS:
            db.session.add(
                ReplyTemplate(
                    title=title,
                    body=body,
                    office=office,
                    topic=self.topics[topic_code] if topic_code else None,
                    action=action,
                    closing_outcome=outcomes[outcome_code] if outcome_code else None,
                )
            )

    def add_agents(self) -> None:
        sm = current_app.appbuilder.sm  # type: ignore[attr-defined]
        roles = {}
        for name in ("agent", "office_manager", "steering", "correspondent", "admin"):
            role = sm.find_role(name)
            if role is None:
                raise RuntimeError(
                    f"The role {name!r} does not exist: run `flask econtacts sync-roles` "
                    "(or `flask econtacts init`) before loading the demo data."
                )
            roles[name] = role
        first_names = list(_AGENT_FIRST_NAMES)
        last_names = list(_AGENT_LAST_NAMES)
        self.rng.shuffle(first_names)
        self.rng.shuffle(last_names)
        names = iter(zip(first_names, last_names, strict=True))

        def agent(username: str, first: str, last: str, role_names: tuple[str, ...], office):
            row = Agent(
                first_name=first,
                last_name=last,
                username=username,
                email=f"{_email_part(first)}.{_email_part(last)}@dgfip.example",
                active=True,
                password=self.password_hash,
                office=office,
                roles=[roles[name] for name in role_names],
            )
            db.session.add(row)
            return row

        count = 0
        for spec in _OFFICES:
            if self.kinds[spec.kind].steers:
                continue
            office = self.offices[spec.code]
            team = []
            members: tuple[tuple[str, tuple[str, ...]], ...] = (
                (f"agent.{spec.slug}", ("agent",)),
                (f"agent2.{spec.slug}", ("agent",)),
                (f"chef.{spec.slug}", ("agent", "office_manager")),
            )
            for username, role_names in members:
                first, last = next(names)
                team.append(agent(username, first, last, role_names, office))
            self.agents[spec.code] = team
            count += len(team)
        for username, first, last, role_names, office_code in _STAFF:
            agent(
                username,
                first,
                last,
                role_names,
                self.offices[office_code] if office_code else None,
            )
            count += 1
        db.session.flush()
        self.progress(f"Agents: {count}")

    def add_reports(self) -> None:
        """Two difficulties reported by the SIP Lyon 3e to the DDFiP du Rhône's correspondent:
        one open, one answered (through the operations, so that their events are there)."""
        reporter = self.agents["SIP-LYON3"][0]
        correspondent = db.session.scalar(
            select(Agent).where(Agent.username == "correspondant.ddfip69")
        )
        report_operations.file_report(
            agent=reporter,
            theme=ReportTheme.TOOL.value,
            description="La liste des services proposés pour une transmission est longue : "
            "pourrait-on chercher un service par son nom ?",
            page_url="/agent/demandes/",
        )
        answered = report_operations.file_report(
            agent=reporter,
            theme=ReportTheme.PROCEDURE.value,
            description="Quel motif choisir pour une demande de délai de paiement reçue au "
            "guichet ?",
            page_url="/agent/contacts/nouveau",
        )
        if correspondent is not None:
            report_operations.answer_report(
                agent=correspondent,
                report=answered,
                answer="Choisissez « Paiement » puis précisez « délai » dans l'objet ; la note "
                "de service du 3 novembre le rappelle.",
            )
        self.progress("Difficulty reports: 2")

    def add_training_progress(self) -> None:
        """Some course records for the administrators' progress page (docs/training.md): the
        SIP Lyon 3e's agent finished the course, its second agent is halfway, its manager has not
        started; the exercises' data itself is the training store's (built on entering)."""
        now = datetime.now(UTC).replace(microsecond=0)
        db.session.flush()  # the agents' ids
        first, second, _manager = self.agents["SIP-LYON3"]
        for days, exercise in zip((9, 6, 2), EXERCISES, strict=False):
            moment = now - timedelta(days=days)
            db.session.add(
                TrainingProgress(
                    agent_id=first.id,
                    exercise=exercise.code,
                    started_at=moment - timedelta(minutes=20),
                    checks=2,
                    completed_at=moment,
                )
            )
        start = now - timedelta(days=1, hours=3)
        db.session.add(
            TrainingProgress(
                agent_id=second.id,
                exercise=EXERCISES[0].code,
                started_at=start,
                checks=1,
                completed_at=start + timedelta(minutes=35),
            )
        )
        db.session.add(
            TrainingProgress(
                agent_id=second.id,
                exercise=EXERCISES[1].code,
                started_at=now - timedelta(hours=5),
                checks=0,
            )
        )
        self.progress("Training course records: 5")

    def add_taxpayers(self) -> None:
        rng = self.rng
        used: set[str] = {DEMO_TAX_NUMBER, DEMO_SIREN}

        def created_at() -> datetime:
            return self.now - timedelta(days=rng.uniform(560, 1400))

        def phone() -> str:
            return f"06 39 98 {rng.randint(10, 99)} {rng.randint(10, 99)}"

        for index, (first, last, street, commune) in enumerate(_INDIVIDUALS):
            if index == 0:
                tax_number = DEMO_TAX_NUMBER
            else:
                while (
                    tax_number := f"{rng.randint(0, 3)}{rng.randint(0, 10**12 - 1):012d}"
                ) in used:
                    pass
                used.add(tax_number)
            postcode, city, insee = _COMMUNES[commune]
            since = created_at()
            taxpayer = Taxpayer(
                kind=_I,
                tax_number=tax_number,
                first_name=first,
                last_name=last,
                email=f"{_email_part(first)}.{_email_part(last)}@example.fr",
                email_confirmed_at=since + timedelta(minutes=rng.randint(2, 90)),
                password_hash=self.password_hash,
                address_line=street,
                postcode=postcode,
                city=city,
                commune_code=insee,
                phone=phone(),
                notify_by_email=True,
                created_at=since,
            )
            db.session.add(taxpayer)
            self.individuals.append(taxpayer)
        for index, (company, street, commune, _large) in enumerate(_BUSINESSES):
            if index == 0:
                siren = DEMO_SIREN
            else:
                while (siren := _luhn_siren(rng)) in used:
                    pass
                used.add(siren)
            postcode, city, insee = _COMMUNES[commune]
            since = created_at()
            slug = _email_part(company.rsplit(" ", 1)[0])
            taxpayer = Taxpayer(
                kind=_B,
                siren=siren,
                last_name=company,
                company_name=company,
                email=f"comptabilite@{slug}.example.fr",
                email_confirmed_at=since + timedelta(minutes=rng.randint(2, 90)),
                password_hash=self.password_hash,
                address_line=street,
                postcode=postcode,
                city=city,
                commune_code=insee,
                phone=f"04 65 71 {rng.randint(60, 99)} {rng.randint(10, 99)}",
                notify_by_email=True,
                created_at=since,
            )
            db.session.add(taxpayer)
            self.businesses.append(taxpayer)
        tax_number, access_number, income = DEMO_UNACTIVATED
        postcode, city, insee = _COMMUNES[_INDIVIDUALS[0][3]]
        unactivated = Taxpayer(
            kind=_I,
            tax_number=tax_number,
            first_name="Paul",
            last_name="Lefèvre",
            postcode=postcode,
            city=city,
            commune_code=insee,
            created_at=self.now - timedelta(days=700),
        )
        db.session.add(unactivated)
        set_activation_data(unactivated, access_number=access_number, reference_income=income)
        # Every taxpayer has the references of its last notice (or activation letter) on file
        # (their own random draw: the rest of the demo data stays as it was).
        notices = random.Random(SEED + 20)
        for taxpayer in [*self.individuals, *self.businesses]:
            set_activation_data(
                taxpayer,
                access_number=f"{notices.randint(0, 9_999_999):07d}",
                reference_income=notices.randint(9_000, 95_000) if taxpayer.kind is _I else None,
            )
        db.session.flush()
        self.large = {t.id for t, spec in zip(self.businesses, _BUSINESSES, strict=True) if spec[3]}
        self.progress(
            f"Taxpayers: {len(self.individuals) + len(self.businesses)} "
            f"({len(self.individuals)} individuals, {len(self.businesses)} businesses)"
        )

    # Cases --------------------------------------------------------------------------------------

    def competent_office(self, taxpayer: Taxpayer, scenario: _Scenario) -> Office:
        if taxpayer.id in self.large:
            return self.offices["IFU-DGE"]
        default = _K.SIP if taxpayer.kind is _I else _K.SIE
        return self.office_for(scenario.office_kind or default, taxpayer.commune_code or "")

    def run(self, taxpayer: Taxpayer, plan: _Plan) -> Case:
        rng = self.rng
        scenario = _SCENARIO_BY_KEY[plan.scenario]
        competent = (
            self.offices[plan.competent]
            if plan.competent
            else self.competent_office(taxpayer, scenario)
        )
        entry = self.offices[plan.entry] if plan.entry else competent
        case_rng = random.Random(f"{SEED}-{self.case_count}")
        self.case_count += 1
        received_at = self.now - timedelta(seconds=round(plan.age_days * 86400))
        if plan.channel is not Channel.ONLINE:
            received_at = self.work_time(received_at, case_rng)
        thread = _Thread(self, taxpayer, scenario, plan.channel, entry, received_at, case_rng)
        thread.open()
        transferred = entry is not competent
        if transferred:
            if plan.channel is Channel.ONLINE:
                thread.wait(1, 30)
            else:
                thread.wait(0.05, 0.3, office_hours=False)
            if rng.random() < 0.5:
                thread.note("Demande hors de notre compétence : transmission au service compétent.")
            thread.transfer(competent, acknowledged=plan.transfer_ack)
        status = plan.status
        if status is CaseStatus.NEW or thread.awaiting_ack:
            return thread.build(unread=False, visible=plan.visible)

        quick = plan.quick
        if quick is None:
            quick = plan.channel in (Channel.PHONE, Channel.COUNTER) and rng.random() < 0.8
        quick = quick and not transferred and status is CaseStatus.CLOSED
        if quick:
            thread.assignee = thread.created_by
            thread.status = CaseStatus.IN_PROGRESS
            thread.wait(0.1, 0.3, office_hours=False)
            thread.answer(scenario.answer, spoken=True)
            thread.close()
            return thread.build(unread=False, visible=plan.visible)

        thread.wait(1, 40)
        thread.assign()
        if plan.note if plan.note is not None else rng.random() < 0.3:
            thread.wait(0.2, 20)
            thread.note(rng.choice(_NOTES))
        info = plan.info_exchange
        if info is None:
            info = rng.random() < 0.35
        if status is CaseStatus.AWAITING_TAXPAYER:
            thread.wait(1, 60)
            thread.request_information()
        elif status is CaseStatus.IN_PROGRESS:
            if info:
                thread.wait(1, 60)
                thread.request_information()
                thread.wait(3, 100, office_hours=False)
                thread.taxpayer_reply(scenario.info_reply)
        else:
            if info:
                thread.wait(1, 60)
                thread.request_information()
                thread.wait(3, 100, office_hours=False)
                thread.taxpayer_reply(scenario.info_reply)
            thread.wait(2, 90)
            thread.answer(scenario.answer)
            follow_up = plan.follow_up
            if follow_up is None:
                follow_up = plan.channel is Channel.ONLINE and rng.random() < 0.2
            if follow_up:
                question, reply = rng.choice(_FOLLOW_UPS)
                thread.wait(2, 60, office_hours=False)
                thread.taxpayer_reply(question)
                thread.wait(1, 40)
                thread.answer(reply)
            thread.close()
        return thread.build(unread=plan.unread, visible=plan.visible)

    def random_plan(self, taxpayer: Taxpayer) -> _Plan:
        rng = self.rng
        large = taxpayer.id in self.large
        choices = [
            s
            for s in _SCENARIOS
            if s.kind is taxpayer.kind
            and not s.scripted
            and (s.key in _LARGE_COMPANY_SCENARIOS if large else not s.large)
        ]
        scenario = rng.choice(choices)
        weights = {Channel.ONLINE: 55, Channel.PHONE: 22, Channel.COUNTER: 13, Channel.LETTER: 10}
        channels = [c for c in scenario.channels if not (large and c is Channel.COUNTER)]
        channel = rng.choices(channels, [weights[c] for c in channels])[0]
        status = rng.choices(
            [
                CaseStatus.CLOSED,
                CaseStatus.NEW,
                CaseStatus.IN_PROGRESS,
                CaseStatus.AWAITING_TAXPAYER,
            ],
            [52, 18, 18, 12],
        )[0]
        competent = self.competent_office(taxpayer, scenario)
        entry = competent
        # What first-level reception (contact centre, CIS, treasury) settles without the SIP
        simple = scenario.topic.startswith("question.") or scenario.topic in (
            "difficulty.account_access",
            "difficulty.withholding_rate",
            "information.family",
            "information.address",
        )
        commune = taxpayer.commune_code or ""
        if taxpayer.kind is _I:
            if channel is Channel.ONLINE and rng.random() < 0.18:
                # The taxpayer picked a general topic: it reaches the SIP, or the SIP's case
                # reaches the remote reception first.
                sip = self.office_for(_K.SIP, commune)
                entry = sip if competent is not sip else self.offices["CIS-LYON"]
            elif channel is Channel.PHONE:
                entry = rng.choices(
                    [self.offices["CC-ST-ETIENNE"], self.offices["CIS-LYON"], competent],
                    [45, 20, 35],
                )[0]
            elif channel is Channel.COUNTER:
                if commune == "42187" and rng.random() < 0.7:
                    entry = self.offices["TRES-ROANNE"]
                else:
                    entry = self.office_for(_K.SIP, commune)
            if entry is not competent and simple and entry.kind.code != _K.SIP:
                competent = entry  # first-level reception answers general questions itself
            if entry.kind.code == _K.SIP and competent.kind.code == _K.CIS:
                competent = entry  # a SIP's counter sorts out access problems itself
        elif channel is Channel.ONLINE and large and rng.random() < 0.3:
            entry = self.office_for(_K.SIE, commune)  # filed as an ordinary business
        if status is CaseStatus.NEW:
            age = rng.uniform(0.1, 9) if rng.random() < 0.8 else rng.uniform(15, 45)
        elif status is CaseStatus.IN_PROGRESS:
            age = rng.uniform(3, 40)
        elif status is CaseStatus.AWAITING_TAXPAYER:
            age = rng.uniform(3, 25)
        else:
            age = rng.uniform(3, 540)
        return _Plan(
            scenario.key,
            channel,
            status,
            age,
            entry=entry.code,
            competent=competent.code,
            transfer_ack=status is not CaseStatus.NEW or rng.random() < 0.4,
        )

    def add_cases(self) -> None:
        rng = self.rng
        C, S = Channel, CaseStatus
        demo_person, demo_company = self.individuals[0], self.businesses[0]
        # The documented demo accounts: every channel, several offices, an unread answer and a
        # case awaiting the taxpayer.
        scripted: list[tuple[Taxpayer, _Plan]] = [
            (
                demo_person,
                _Plan("ir_garde", C.ONLINE, S.CLOSED, 420, info_exchange=True, note=True),
            ),
            (
                demo_person,
                _Plan(
                    "pas_taux",
                    C.PHONE,
                    S.CLOSED,
                    300,
                    entry="CC-ST-ETIENNE",
                    competent="CC-ST-ETIENNE",
                    quick=True,
                ),
            ),
            (demo_person, _Plan("tf_garage", C.ONLINE, S.CLOSED, 240, follow_up=True)),
            (demo_person, _Plan("famille_mariage", C.COUNTER, S.CLOSED, 180, quick=True)),
            (
                demo_person,
                _Plan(
                    "biens_occupation",
                    C.ONLINE,
                    S.IN_PROGRESS,
                    9,
                    entry="SIP-LYON3",
                    competent="CDIF-LYON",
                    info_exchange=False,
                    note=True,
                ),
            ),
            (
                demo_person,
                _Plan(
                    "pas_double",
                    C.ONLINE,
                    S.CLOSED,
                    12,
                    info_exchange=False,
                    follow_up=False,
                    unread=True,
                ),
            ),
            (demo_person, _Plan("ir_majoration", C.ONLINE, S.AWAITING_TAXPAYER, 6, unread=True)),
            (demo_person, _Plan("dons", C.LETTER, S.NEW, 2)),
            (demo_company, _Plan("tva_emporter", C.ONLINE, S.CLOSED, 200, follow_up=False)),
            (demo_company, _Plan("tva_depot", C.PHONE, S.CLOSED, 90, quick=True)),
            (demo_company, _Plan("is_delai", C.ONLINE, S.IN_PROGRESS, 15, info_exchange=True)),
            (demo_company, _Plan("cfe_base", C.ONLINE, S.AWAITING_TAXPAYER, 10, unread=True)),
            # Contacts that agents chose not to show in the taxpayer's history.
            (
                self.individuals[9],
                _Plan("ir_remise", C.PHONE, S.CLOSED, 75, quick=True, visible=False),
            ),
            (
                self.individuals[14],
                _Plan(
                    "pas_emploi",
                    C.COUNTER,
                    S.CLOSED,
                    33,
                    entry="TRES-ROANNE",
                    competent="TRES-ROANNE",
                    quick=True,
                    visible=False,
                ),
            ),
            # Forwarded and not yet acknowledged by the receiving office.
            (
                self.individuals[3],
                _Plan(
                    "tf_construction",
                    C.ONLINE,
                    S.NEW,
                    1.5,
                    entry="SIP-VILLEURB",
                    transfer_ack=False,
                ),
            ),
            (
                self.businesses[4],
                _Plan(
                    "siege",
                    C.LETTER,
                    S.NEW,
                    3,
                    entry="SIE-LYON-N",
                    competent="SIE-ST-ETIENNE",
                    transfer_ack=False,
                ),
            ),
            (
                self.businesses[7],
                _Plan("is_integration", C.ONLINE, S.CLOSED, 130, entry="SIE-LYON-N"),
            ),
        ]
        cases = [self.run(taxpayer, plan) for taxpayer, plan in scripted]
        others = [*self.individuals[1:], *self.businesses[1:]]
        for taxpayer in others:  # everyone has at least one case
            cases.append(self.run(taxpayer, self.random_plan(taxpayer)))
        while len(cases) < 82:
            taxpayer = rng.choice(others)
            cases.append(self.run(taxpayer, self.random_plan(taxpayer)))
        db.session.flush()
        events = 0
        for case, taxpayer, timeline in self.pending_events:
            for ev in timeline:
                db.session.add(
                    Event(
                        kind=ev.kind,
                        case_id=case.id,
                        taxpayer_id=taxpayer.id,
                        office_id=ev.office.id,
                        actor_agent_id=ev.agent.id if ev.agent else None,
                        actor_taxpayer_id=taxpayer.id if ev.by_taxpayer else None,
                        created_at=ev.at,
                        data={"case_reference": case.reference, **ev.data},
                    )
                )
                events += 1
        db.session.flush()
        self.progress(
            f"Cases: {len(cases)}, messages: {self.message_count}, "
            f"transfers: {self.transfer_count}, events: {events}"
        )


# Issue 19: the shared mailboxes (BALF) of two offices, one open, one closed (cut-over done).
DEMO_MAILBOXES = (
    ("sip.lyon3@dgfip.example", "SIP-LYON3", MailboxStatus.OPEN),
    ("sip.villeurbanne@dgfip.example", "SIP-VILLEURB", MailboxStatus.CLOSED),
)


def _add_mailboxes(demo: _Demo) -> None:
    for address, office_code, status in DEMO_MAILBOXES:
        office = demo.offices.get(office_code)
        if office is None:
            continue
        db.session.add(
            Mailbox(
                address=address,
                office=office,
                status=status,
                topic=demo.topics.get("question"),
                auto_reply_enabled=True,
                received_count=0,
                closed_count=0,
            )
        )
    db.session.flush()
    _add_demo_email(demo)
    demo.progress(f"Mailboxes: {len(DEMO_MAILBOXES)}")


def _add_demo_email(demo: _Demo) -> None:
    """One e-mail the SIP Lyon 3e's mailbox received from a sender not yet attached, as the
    endpoint and the job would have left it (app.mailbox.intake)."""
    mailbox = db.session.scalar(select(Mailbox).where(Mailbox.address == DEMO_MAILBOXES[0][0]))
    topic = demo.topics.get("question.second_home")
    if mailbox is None or topic is None:
        return
    received = datetime.now(UTC) - timedelta(days=1)
    case = operations.record_email(
        office=mailbox.office,
        taxpayer=None,
        declared_identity="Jeanne Roux <jeanne.roux@example.fr>",
        topic=topic,
        subject="Ma taxe d'habitation sur une résidence secondaire",
        body=(
            "Bonjour,\n\nj'ai reçu un avis de taxe d'habitation pour une maison que j'ai "
            "vendue l'an dernier. Que dois-je faire ?\n\nCordialement,\nJeanne Roux"
        ),
        stored=[],
        received_at=received,
    )
    db.session.add(
        InboundEmail(
            mailbox_id=mailbox.id,
            envelope_from="jeanne.roux@example.fr",
            recipient=mailbox.address,
            size=912,
            received_at=received,
            status=InboundStatus.DONE,
            attempts=1,
            next_attempt_at=received,
            message_id="<demo-1@example.fr>",
            sender="jeanne.roux@example.fr",
            sender_name="Jeanne Roux",
            subject=case.subject,
            headers=(
                "From: Jeanne Roux <jeanne.roux@example.fr>\n"
                f"To: {mailbox.address}\n"
                f"Subject: {case.subject}\n"
                "Message-ID: <demo-1@example.fr>\n"
            ),
            match_note="Aucun usager connu avec cette adresse : à rattacher par un agent.",
            refused_parts=[],
            defects=[],
            auto_replied=True,
            case_id=case.id,
            processed_at=received,
        )
    )
    mailbox.received_count = 1
    _add_demo_failed_email(mailbox)


def _add_demo_failed_email(mailbox: Mailbox) -> None:
    """One e-mail the intake gave up on (the antivirus did not answer at any attempt), kept
    with its raw message for the administrators' « Courriels en échec » screen: « Relancer le
    traitement » turns it into a case."""
    received = datetime.now(UTC) - timedelta(hours=30)
    raw = (
        "From: Paul Lefebvre <paul.lefebvre@example.fr>\r\n"
        f"To: {mailbox.address}\r\n"
        "Subject: Demande de délai de paiement\r\n"
        "Message-ID: <demo-2@example.fr>\r\n"
        "MIME-Version: 1.0\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n"
        "Content-Transfer-Encoding: 8bit\r\n"
        "\r\n"
        "Bonjour,\r\n\r\nje souhaite étaler le paiement de mon impôt sur le revenu.\r\n"
        "\r\nPaul Lefebvre\r\n"
    ).encode()
    db.session.add(
        InboundEmail(
            mailbox_id=mailbox.id,
            envelope_from="paul.lefebvre@example.fr",
            recipient=mailbox.address,
            raw=raw,
            size=len(raw),
            received_at=received,
            status=InboundStatus.FAILED,
            attempts=12,
            next_attempt_at=received + timedelta(hours=29),
            last_error="StorageUnavailable: clamd: [Errno 111] Connection refused",
            refused_parts=[],
            defects=[],
            auto_replied=False,
        )
    )


_LARGE_COMPANY_SCENARIOS = {"is_integration", "is_acomptes", "tva_credit"}
_SCENARIO_BY_KEY = {scenario.key: scenario for scenario in _SCENARIOS}


def _luhn_siren(rng: random.Random) -> str:
    """A random SIREN whose last digit is the Luhn key, as real ones have."""
    digits = [rng.randint(1, 9)] + [rng.randint(0, 9) for _ in range(7)]
    total = 0
    for index, digit in enumerate(reversed(digits)):
        doubled = digit * 2 if index % 2 == 0 else digit
        total += doubled - 9 if doubled > 9 else doubled
    return "".join(map(str, digits)) + str((10 - total % 10) % 10)


def load_demo_data(progress: Callable[[str], object] = print) -> None:
    """Add the demo offices, directory, agents, taxpayers and cases; flush, never commit."""
    demo = _Demo(progress)
    demo.add_offices()
    demo.add_directory()
    demo.add_agents()
    demo.add_taxpayers()
    demo.add_cases()
    demo.add_reports()
    demo.add_training_progress()
    _add_mailboxes(demo)
