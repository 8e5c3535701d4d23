"""The guide's check before an agent's message goes out (app.cases.guidance): the pure function,
then the server refusing an unconfirmed message with warnings and keeping the draft."""

from __future__ import annotations

import html

import pytest
from factories import World, make_case, make_reply_template
from flask.testing import FlaskClient
from test_agent_support import field, page_of, post_action, taxpayer_message

from app.cases import guidance, operations
from app.cases.guidance import IBAN, PASSWORD, TAX_NUMBER, TEMPLATE_ONLY, check_message
from models import Case, Message, db

OWN = "1234567890123"
# A real-format French IBAN whose key is right (mod 97 == 1).
GOOD_IBAN = "FR76 3000 6000 0112 3456 7890 189"


def codes(body: str, **kwargs: object) -> list[str]:
    return [warning.code for warning in check_message(body, **kwargs)]  # type: ignore[arg-type]


# --- the pure function ------------------------------------------------------------------------


def test_a_plain_answer_has_no_warning() -> None:
    body = (
        "Madame, Monsieur,\n\nVotre remboursement de 1 250 euros part le 12 décembre 2026. "
        "Votre demande 26-7K4M-Q2XD est close. Appelez le 04 72 00 00 00 si besoin."
    )
    assert check_message(body, own_tax_numbers=[OWN]) == []


@pytest.mark.parametrize(
    "written",
    ["9876543210987", "98 76 543 210 987", "987 654 321 0987", "9876.5432.1098.7"],
)
def test_someone_elses_tax_number_is_found_however_it_is_spaced(written: str) -> None:
    warnings = check_message(f"Le numéro {written} concerne votre conjoint.", own_tax_numbers=[OWN])
    assert [(w.code, w.value) for w in warnings] == [(TAX_NUMBER, "9876543210987")]
    assert "9876543210987" in warnings[0].message and "secret fiscal" in warnings[0].message


def test_the_taxpayers_own_tax_number_and_longer_numbers_are_allowed() -> None:
    assert codes(f"Votre numéro fiscal {OWN} est bien enregistré.", own_tax_numbers=[OWN]) == []
    assert codes("SIRET 123 456 789 00012, numéro 12345678901234") == []
    assert codes("Montant : 123456789012 euros") == []  # 12 digits


def test_an_iban_is_found_only_when_its_key_is_right() -> None:
    warnings = check_message(f"Nous avons noté l'IBAN {GOOD_IBAN}.")
    assert [w.code for w in warnings] == [IBAN]
    assert warnings[0].value == "…0189" and GOOD_IBAN not in warnings[0].message
    assert codes(GOOD_IBAN.replace(" ", "").lower()) == [IBAN]
    # Words right after it are not part of it.
    assert codes(f"Versé sur l'IBAN {GOOD_IBAN} sous huit jours") == [IBAN]
    # A wrong key: a reference that only looks like an IBAN.
    assert codes("Référence FR76 3000 6000 0112 3456 7890 188") == []


def test_the_digits_of_an_iban_are_not_also_a_tax_number() -> None:
    assert codes("IBAN FR7630006000011234567890189", own_tax_numbers=[OWN]) == [IBAN]


@pytest.mark.parametrize(
    "phrase",
    [
        "Votre mot de passe : Soleil2026!",
        "mdp = azerty123",
        "Le mot de passe provisoire est : Xk8-pq2r",
        "votre code d'accès : 4K9Z7Q",
        "Password: hunter22",
    ],
)
def test_a_password_phrase_is_found(phrase: str) -> None:
    assert codes(f"Bonjour,\n{phrase}\nCordialement") == [PASSWORD]


@pytest.mark.parametrize(
    "phrase",
    [
        "Pour changer votre mot de passe, ouvrez « Mon compte ».",
        "Le mot de passe est : votre affaire, nous ne le demandons jamais.",
        "Nous ne vous demanderons jamais votre mot de passe.",
    ],
)
def test_talking_about_passwords_is_not_a_password(phrase: str) -> None:
    assert codes(phrase) == []


def test_a_reply_that_is_the_template_and_nothing_else() -> None:
    filled = "Bonjour Camille Durand,\n\nNous avons bien reçu votre demande 26-AAAA-BBBB."
    templates = [("Accusé de réception", filled)]
    warnings = check_message(filled.replace("\n\n", "\r\n\r\n  "), templates=templates)
    assert [(w.code, w.value) for w in warnings] == [(TEMPLATE_ONLY, "Accusé de réception")]
    completed = filled + "\nLe dégrèvement sera appliqué sur votre prochain avis."
    assert check_message(completed, templates=templates) == []


def test_several_problems_are_all_told() -> None:
    body = f"Numéro 9876543210987, IBAN {GOOD_IBAN}, mot de passe : Azerty1234"
    assert sorted(codes(body, own_tax_numbers=[OWN])) == sorted([TAX_NUMBER, IBAN, PASSWORD])


# --- enforced by the server -------------------------------------------------------------------


@pytest.fixture
def case_a(world: World) -> Case:
    case = make_case(world.taxpayer_a, world.office_a, subject="Remboursement")
    taxpayer_message(case, world.taxpayer_a, "Bonjour, voici mon avis.")
    db.session.commit()
    return case


def _messages(case_id: int) -> list[str]:
    db.session.expire_all()
    return list(
        db.session.scalars(
            db.select(Message.body).where(
                Message.case_id == case_id, Message.author_agent_id.is_not(None)
            )
        )
    )


def _send(client: FlaskClient, case: Case, body: str, **extra: str) -> object:
    page = page_of(client, case.id)
    return post_action(
        client,
        case.id,
        "repondre",
        {
            "kind": extra.pop("kind", "reponse"),
            "body": body,
            "submission_token": field(page, "submission_token"),
            "last_message_id": field(page, "last_message_id"),
            **extra,
        },
    )


def test_the_guide_is_beside_the_reply_form(case_a: Case, agent_a_client: FlaskClient) -> None:
    page = page_of(agent_a_client, case_a.id)
    assert 'aria-controls="guide-redaction"' in page
    assert "Ce qu'il ne faut jamais écrire" in html.unescape(page)
    assert "/agent/aide/bonnes-pratiques" in page


def test_a_warned_message_is_not_sent_and_comes_back_with_its_warnings(
    world: World, case_a: Case, agent_a_client: FlaskClient
) -> None:
    body = f"Votre conjoint a le numéro 9876543210987. IBAN {GOOD_IBAN}."
    response = _send(agent_a_client, case_a, body)
    assert response.status_code == 302  # type: ignore[attr-defined]
    assert "saisie=" in response.location  # type: ignore[attr-defined]
    assert _messages(case_a.id) == []
    page = agent_a_client.get(response.location).get_data(as_text=True)  # type: ignore[attr-defined]
    assert "Votre message n'a pas été envoyé." in html.unescape(page)
    assert "9876543210987" in page and "…0189" in page
    assert "Envoyer quand même" in page
    assert "Votre conjoint a le numéro 9876543210987." in html.unescape(page)  # the draft is kept
    # Sent anyway, as confirmed: written once, as typed.
    response = _send(agent_a_client, case_a, body, confirm_warnings="1")
    assert response.status_code == 302  # type: ignore[attr-defined]
    assert _messages(case_a.id) == [body]


def test_a_request_for_information_is_checked_too(
    case_a: Case, agent_a_client: FlaskClient
) -> None:
    _send(agent_a_client, case_a, "Donnez-nous votre mot de passe : Soleil2026", kind="precision")
    assert _messages(case_a.id) == []


def test_a_template_sent_as_it_is_is_warned(
    world: World, case_a: Case, agent_a_client: FlaskClient
) -> None:
    template = make_reply_template(office=world.office_a)
    db.session.commit()
    filled = guidance.fill_template(template.body, case_a)
    response = _send(agent_a_client, case_a, filled)
    page = agent_a_client.get(response.location).get_data(as_text=True)  # type: ignore[attr-defined]
    assert "« Accusé de réception » sans rien d'autre" in html.unescape(page)
    assert _messages(case_a.id) == []
    _send(agent_a_client, case_a, filled + "\nVotre dossier est complet.")
    assert len(_messages(case_a.id)) == 1


def test_the_operation_refuses_without_confirmation(world: World, case_a: Case) -> None:
    with pytest.raises(operations.NeedsConfirmation) as refused:
        operations.reply_to_case(agent=world.agent_a, case=case_a, body="mdp = Azerty1234")
    assert [w.code for w in refused.value.warnings] == [PASSWORD]
    db.session.rollback()
    operations.reply_to_case(
        agent=world.agent_a, case=case_a, body="mdp = Azerty1234", warnings_confirmed=True
    )
    db.session.commit()
    assert _messages(case_a.id) == ["mdp = Azerty1234"]
