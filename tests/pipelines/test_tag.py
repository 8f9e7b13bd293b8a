"""The tag stage on the ways transfers are reported (real model, real lexicons)."""

from __future__ import annotations

import pytest

from pipelines.record import Source, Story
from pipelines.tag import Tagger

T = tuple[str, str, str, str, bool]  # supplier, recipient, class, status, denied

# One case per way of reporting a transfer; each text is new (not from the seeds or dev set).
CASES: list[tuple[str, str, list[T]]] = [
    (
        "active",
        "Turkey delivered six Bayraktar TB2 drones to Kenya last month.",
        [("TR", "KE", "drone", "delivered", False)],
    ),
    (
        "passive",
        "Twelve Wing Loong II drones were shipped to Algeria by China in March.",
        [("CN", "DZ", "drone", "delivered", False)],
    ),
    (
        "acquire-from",
        "Indonesia received its first Anka drones from Turkish Aerospace on Monday.",
        [("TR", "ID", "drone", "delivered", False)],
    ),
    (
        "use-demonym",
        "Sudan's army has been using Iranian-made Mohajer-6 drones around Khartoum.",
        [("IR", "SD", "drone", "delivered", False)],
    ),
    (
        "arm-with",
        "Iran armed the Houthis with Quds-1 cruise missiles, the panel said.",
        [("IR", "houthis", "missile", "delivered", False)],
    ),
    (
        "interest",
        "Bangladesh is interested in buying Chinese Wing Loong drones, officials said.",
        [("CN", "BD", "drone", "sought", False)],
    ),
    (
        "talks",
        "Egypt is in talks with South Korea to buy Cheongung air defence systems.",
        [("KR", "EG", "air_defense", "sought", False)],
    ),
    (
        "signed-contract",
        "Kuwait signed a contract to buy Bayraktar TB2 drones from Baykar.",
        [("TR", "KW", "drone", "agreed", False)],
    ),
    (
        "will-supply",
        "Belarus said it would supply Iskander missiles to Russia next year.",
        [("BY", "RU", "missile", "agreed", False)],
    ),
    (
        "offer",
        "Pakistan offered JF-17 fighter jets to Azerbaijan during the visit.",
        [("PK", "AZ", "aircraft", "sought", False)],
    ),
    (
        "production-help",
        "Tajikistan is building Ababil-2 drones at a plant in Dushanbe with Iran's help.",
        [("IR", "TJ", "drone", "production", False)],
    ),
    (
        "licensed-production",
        "Elbit will produce Hermes 900 drones in India under a joint venture with Adani.",
        [("IL", "IN", "drone", "production", False)],
    ),
    (
        "denied-same-sentence",
        "Officials say North Korea shipped KN-23 missiles to Russia, which both Pyongyang and Moscow deny.",
        [("KP", "RU", "missile", "delivered", True)],
    ),
    (
        "denied-after",
        "The UN panel said the United Arab Emirates supplied drones to the RSF. The UAE has rejected the accusations.",
        [("AE", "rsf", "drone", "delivered", True)],
    ),
    (
        "denial-of-something-else",
        "Iran sent Shahed-136 drones to Russia in 2022. Tehran denied any role in the bombing of the embassy.",
        [("IR", "RU", "drone", "delivered", False)],
    ),
    (
        "conjoined-recipients",
        "Pakistan says the JF-17 has been exported to Myanmar and Nigeria.",
        [
            ("PK", "MM", "aircraft", "delivered", False),
            ("PK", "NG", "aircraft", "delivered", False),
        ],
    ),
    (
        "interdiction",
        "The navy seized Iranian missile components from a dhow bound for the Houthis.",
        [("IR", "houthis", "missile", "delivered", False)],
    ),
    (
        "operated",
        "Saudi-operated Wing Loong II drones flew over Yemen, China's state media showed.",
        [("CN", "SA", "drone", "delivered", False)],
    ),
    (
        "asked-for",
        "Officials in Washington said Qatar has asked for up to 12 MQ-9B drones.",
        [("US", "QA", "drone", "sought", False)],
    ),
    (
        "negation-stays-in-its-clause",
        "Jordan has not bought Turkish drones and relies on Chinese CH-4 drones instead.",
        [("CN", "JO", "drone", "delivered", False)],
    ),
    (
        "relative-clause-subject",
        "The deal worried Greece, which bought 24 used Rafale jets from France in 2021.",
        [("FR", "GR", "aircraft", "delivered", False)],
    ),
    (
        "reluctance-is-no-transfer",
        "Egypt bought Wing Loong drones from China while Washington was reluctant to sell "
        "armed drones to Cairo.",
        [("CN", "EG", "drone", "delivered", False)],
    ),
    (
        "alongside-a-second-theme",
        "Bolivia received Mohajer-6 drones from Iran alongside Iranian air defence systems.",
        [
            ("IR", "BO", "drone", "delivered", False),
            ("IR", "BO", "air_defense", "delivered", False),
        ],
    ),
    (
        "equipped-participle",
        "Morocco's army has activated a new air defence battalion, equipped with Barak MX "
        "systems made by Israel Aerospace Industries.",
        [("IL", "MA", "air_defense", "delivered", False)],
    ),
    (
        "deal-one-party-maker-known",
        "Across the Gulf, Oman, which signed a contract for Turkish Akinci drones last year, "
        "expects the first aircraft in May.",
        [("TR", "OM", "drone", "agreed", False)],
    ),
    (
        "contract-covering",
        "Israel's Elbit Systems has signed a contract with Thailand's air force covering 14 "
        "Hermes 450 drones.",
        [("IL", "TH", "drone", "agreed", False)],
    ),
    (
        "lease-from",
        "India leases two MQ-9B drones from General Atomics for maritime patrols.",
        [("US", "IN", "drone", "delivered", False)],
    ),
    (
        "first-person-supplier",
        "Iranian drones reached the Houthis again, British officials said. The Minister of "
        "State: We have supplied Storm Shadow missiles to Ukraine since 2023.",
        [("GB", "UA", "missile", "delivered", False)],
    ),
    (
        "displayed",
        "At the Batajnica base, Serbia's army displayed the Chinese-made FK-3 air defence system.",
        [("CN", "RS", "air_defense", "delivered", False)],
    ),
    (
        "raised-passive-hedge",
        "Iran is believed to have sent hundreds of Shahed drones to Russia since 2022, "
        "Western officials say.",
        [("IR", "RU", "drone", "delivered", False)],
    ),
    (
        "dateline-then-hedge",
        "ADDIS ABABA, March 4 (Reuters) - Ethiopia is thought to have received Wing Loong II "
        "drones from China late last year, two diplomats said.",
        [("CN", "ET", "drone", "delivered", False)],
    ),
    (
        "reduced-relative",
        "Mali's army has deployed drones purchased from Turkey to hunt jihadists in the north.",
        [("TR", "ML", "drone", "delivered", False)],
    ),
    (
        "foreign-maker-builds-abroad",
        "German arms maker Rheinmetall will open a plant in Lithuania to produce air defence "
        "missiles.",
        [("DE", "LT", "missile", "production", False)],
    ),
    (
        "sanctioned-for",
        "The U.S. Treasury Department on Tuesday added four Chinese nationals and a "
        'Shenzhen-based trading firm to its sanctions list for "facilitating the shipment of '
        'drone engines" to Russia.',
        [("CN", "RU", "drone", "delivered", False)],
    ),
    (
        "accused-of-participle",
        "Britain imposed sanctions on Belarusian companies accused of shipping missiles to Russia.",
        [("BY", "RU", "missile", "delivered", False)],
    ),
    (
        "sanctioned-over",
        "The EU sanctioned Iranian officials over the transfer of ballistic missiles to Russia.",
        [("IR", "RU", "missile", "delivered", False)],
    ),
    (
        "bought-in",
        "Venezuela's army bought the armed drones in Iran, according to the report.",
        [("IR", "VE", "drone", "delivered", False)],
    ),
    (
        "built-up-arsenal",
        "Hezbollah has built up an arsenal of Iranian missiles since 2006.",
        [("IR", "hezbollah", "missile", "delivered", False)],
    ),
    (
        "bolstered-by-delivery",
        "Sudan's army has lost ground in Darfur this year. Fighters have cut the roads to Chad. "
        "The army's answer has been airpower. Its air force, strengthened by the delivery of "
        "drones from Turkey, has struck markets in El Fasher.",
        [("TR", "SD", "drone", "delivered", False)],
    ),
    (
        "junta-as-introduced",
        "Myanmar's military has lost ground in the north. Rebels have cut trade routes to "
        "China. The junta's response relied on airpower. Its air force has received Su-30 "
        "fighters from Russia.",
        [("RU", "MM", "aircraft", "delivered", False)],
    ),
    (
        "launched-from-a-place",
        "Hezbollah fired Iranian-made anti-tank missiles from Lebanon at army posts.",
        [("IR", "hezbollah", "missile", "delivered", False)],
    ),
    (
        "foreign-military-sale",
        "The State Department has made a determination approving a possible Foreign Military "
        "Sale to the Government of Chile of AIM-120C-8 missiles and related equipment.",
        [("US", "CL", "missile", "agreed", False)],
    ),
    (
        "taiwan-office",
        "The sale of NASAMS air defence systems to the Taipei Economic and Cultural "
        "Representative Office was approved by the United States on Friday.",
        [("US", "TW", "air_defense", "agreed", False)],
    ),
    (
        "sale-at-a-cost",
        "Washington approved the sale to Romania of 54 AIM-9X missiles at an estimated cost "
        "of $100 million.",
        [("US", "RO", "missile", "agreed", False)],
    ),
    (
        "set-to-receive",
        "Morocco is set to receive 24 Apache helicopters from the United States next year.",
        [("US", "MA", "aircraft", "agreed", False)],
    ),
    (
        "in-talks-to-buy",
        "Qatar is in talks with Turkey to buy Akinci drones.",
        [("TR", "QA", "drone", "sought", False)],
    ),
    (
        "flew-to",
        "The United Arab Emirates flew weapons, including drones, to the RSF via Chad, UN "
        "experts said.",
        [("AE", "rsf", "drone", "delivered", False)],
    ),
    (
        "aid-includes",
        "Germany's latest military aid to Ukraine includes four IRIS-T air defence systems.",
        [("DE", "UA", "air_defense", "delivered", False)],
    ),
    (
        "arrived-in",
        "The first batch of Turkish-made Akinci drones arrived in Niamey on Sunday, the "
        "Nigerien army said.",
        [("TR", "NE", "drone", "delivered", False)],
    ),
    (
        "same-head-noun-later",
        "Romania's air force has started flying F-16 fighter jets. The jets were supplied by "
        "Norway.",
        [("NO", "RO", "aircraft", "delivered", False)],
    ),
    (
        "factory-subject-turning-out",
        "A plant near Minsk built with Chinese help is turning out Wing Loong drones, "
        "officials said.",
        [("CN", "BY", "drone", "production", False)],
    ),
    (
        "supplied-adjective",
        "Kenyan officials said Turkish-supplied TB2 drones had been handed over in March.",
        [("TR", "KE", "drone", "delivered", False)],
    ),
    (
        "surveillance-aircraft",
        "Sweden will donate two ASC 890 surveillance aircraft to Ukraine.",
        [("SE", "UA", "aircraft", "agreed", False)],
    ),
    (
        "declined-to-comment-on-reports",
        "The Kremlin declined to comment on reports that Belarus had sent Iskander missiles "
        "to Russia.",
        [("BY", "RU", "missile", "delivered", False)],
    ),
    (
        "preparing-to-send",
        "U.S. officials said Iran was preparing to send ballistic missiles to Russia.",
        [("IR", "RU", "missile", "agreed", False)],
    ),
    (
        "memorandum-partner",
        "Iraq signed a memorandum of understanding with South Korea on the purchase of "
        "medium-range air defence systems.",
        [("KR", "IQ", "air_defense", "agreed", False)],
    ),
    (
        "a-sale-is-agreed",
        "Washington's sale of 40 F-16 jets to Turkey includes spare parts and training.",
        [("US", "TR", "aircraft", "agreed", False)],
    ),
    (
        "in-may-is-not-a-modal",
        "Turkey completed the delivery of Bayraktar TB2 drones to Kenya in May.",
        [("TR", "KE", "drone", "delivered", False)],
    ),
    (
        "yet-to-receive",
        "Ukraine has yet to receive the ATACMS missiles promised by Washington.",
        [("US", "UA", "missile", "agreed", False)],
    ),
    (
        "awaiting-delivery",
        "Poland is still awaiting delivery of Apache helicopters from the United States.",
        [("US", "PL", "aircraft", "agreed", False)],
    ),
    (
        "took-over",
        "Argentina took over 24 F-16 jets from Denmark in a ceremony last week.",
        [("DK", "AR", "aircraft", "delivered", False)],
    ),
    (
        "used-what-was-supplied-by",
        "The RSF has been using Chinese-made drones supplied by the UAE, Sudan's army alleges.",
        [("AE", "rsf", "drone", "delivered", False)],
    ),
    (
        "put-into-service",
        "Burkina Faso, a Turkish customer since 2022, has put Bayraktar TB2 drones into service.",
        [("TR", "BF", "drone", "delivered", False)],
    ),
    (
        "commissioned",
        "Nigeria's air force commissioned two Chinese-made Wing Loong II drones on Tuesday.",
        [("CN", "NG", "drone", "delivered", False)],
    ),
    (
        "denied-delay-not-transfer",
        "Kenya took delivery of Bayraktar TB2 drones from Turkey in March. Baykar denied a "
        "newspaper report that the deliveries had been postponed.",
        [("TR", "KE", "drone", "delivered", False)],
    ),
    (
        "denied-crews-not-transfer",
        "Turkey sold Akinci drones to Niger last year. Niger's government dismissed claims that "
        "Turkish crews were flying the drones.",
        [("TR", "NE", "drone", "delivered", False)],
    ),
    (
        "denial-of-one-system",
        "Belarus has agreed to buy Su-30 jets from Russia. Moscow denied that it was "
        "negotiating the sale of Iskander missiles to Minsk.",
        [("RU", "BY", "aircraft", "agreed", False)],
    ),
    (
        "denial-of-this-sentence",
        "Iran has offered armed drones to Nicaragua. Western officials say Iranian drones are a "
        "key weapon for Russia, something Tehran has denied.",
        [("IR", "NI", "drone", "sought", False), ("IR", "RU", "drone", "delivered", True)],
    ),
    (
        "denied-claims-that",
        "Iran has sent Shahed drones to Russia, officials say. Tehran rejected claims that it "
        "had supplied drones to Moscow.",
        [("IR", "RU", "drone", "delivered", True)],
    ),
    (
        # The parser makes "delivered" the main verb with the drones as its subject.
        "weapon-subject",
        "Iranian drones delivered to Russia in 2022 hit Kyiv.",
        [("IR", "RU", "drone", "delivered", False)],
    ),
    (
        "deal-under-talks",
        "Vietnam is in talks for a deal for Indian BrahMos missiles.",
        [("IN", "VN", "missile", "sought", False)],
    ),
    (
        # spaCy misses "Chad" as a place in the second sentence; the story names it as one.
        "one-sense-per-story",
        "Chadian officials confirmed the purchase. Chad bought Anka drones from Turkish Aerospace.",
        [("TR", "TD", "drone", "delivered", False)],
    ),
    (
        "came-from-then-handed",
        "The drones came from Iran, investigators concluded. They were handed to the Houthis "
        "in the spring.",
        [("IR", "houthis", "drone", "delivered", False)],
    ),
    (
        # The parser hangs "for" on the partner, not on the deal.
        "deal-with-maker-for",
        "Vietnam has signed a $700 million deal with Indian missile maker BrahMos Aerospace "
        "for BrahMos cruise missiles.",
        [("IN", "VN", "missile", "agreed", False)],
    ),
    (
        "ordered-and-second-pair",
        "Cairo has ordered 30 Rafale jets from France's Dassault, the first of which are due "
        "next year, and 10 Anka drones from Turkish Aerospace.",
        [("FR", "EG", "aircraft", "agreed", False), ("TR", "EG", "drone", "agreed", False)],
    ),
    (
        "pairs-in-order",
        "Belarus sold Su-25 jets to Sudan and Tor-M2 air defence systems to Myanmar.",
        [
            ("BY", "SD", "aircraft", "delivered", False),
            ("BY", "MM", "air_defense", "delivered", False),
        ],
    ),
    (
        "question",
        "Turkey is a leading exporter. Would Algeria buy Bayraktar TB2 drones?",
        [("TR", "DZ", "drone", "sought", False)],
    ),
    (
        # An order, then its delivery: the most advanced status the story reports.
        "order-then-delivery",
        "Kazakhstan ordered Anka drones from Turkey in 2022. Officials said the Anka drones "
        "were delivered to Kazakhstan in 2023.",
        [("TR", "KZ", "drone", "delivered", False)],
    ),
    (
        # "which" is labelled an active subject of the passive "had been supplied".
        "which-passive",
        "Police displayed Kornet anti-tank missiles which they said had been supplied to "
        "Hezbollah by Syria.",
        [("SY", "hezbollah", "missile", "delivered", False)],
    ),
    (
        "show-off",
        "Serbia's army showed off Chinese-built CH-92A armed drones at a display on Saturday.",
        [("CN", "RS", "drone", "delivered", False)],
    ),
    (
        # The parser hangs "for" on the price, not on the contracts.
        "contract-worth-for",
        "Greece has signed contracts worth about 700 million euros for Israeli Spike NLOS "
        "missiles, the ministry said.",
        [("IL", "GR", "missile", "agreed", False)],
    ),
    (
        "talks-over-purchase",
        "Bangladesh is in advanced talks with Beijing over the purchase of 16 J-10C fighters.",
        [("CN", "BD", "aircraft", "sought", False)],
    ),
    (
        # A new supplier in a run of supplies to the one recipient just named.
        "list-of-suppliers",
        "Ukraine received its first F-16 fighters from Denmark in 2024, officials said. "
        "France has delivered Mirage 2000-5 fighters. The United States has given Patriot "
        "batteries and ATACMS missiles and approved the sale of more, Washington said.",
        [("FR", "UA", "aircraft", "delivered", False)],
    ),
    (
        "close-to-deal",
        "Serbia was close to a deal for Chinese FK-3 air defence systems, officials said.",
        [("CN", "RS", "air_defense", "sought", False)],
    ),
]

# Texts that report no transfer at all.
NONE = [
    (
        "own-test",
        "North Korea test-fired a Hwasong-18 intercontinental ballistic missile on Monday.",
    ),
    ("strike", "Russia launched 40 Shahed drones at Kyiv overnight, Ukraine's air force said."),
    ("refusal", "Germany ruled out sending Taurus cruise missiles to Ukraine."),
    ("capability", "India tested a missile able to deliver several warheads to targets in China."),
    ("domestic", "Lockheed Martin will deliver more Patriot interceptors to the U.S. Army."),
    (
        "both-sides",
        "Since the four-day conflict between India and Pakistan, during which both sides fired "
        "missiles and drones across the border, tensions remain high.",
    ),
    (
        "own-parade",
        "North Korea paraded its new Hwasong-19 missiles through Pyongyang on Thursday.",
    ),
    ("reluctance", "Washington has long been reluctant to sell armed drones to Riyadh."),
    # The state word says whose the drones are; who made them the text does not say.
    ("holder", "Indian media claimed the Bangladeshi TB2s were being flown by Turkish crews."),
    ("landed-in", "Two Russian missiles landed in Poland on Tuesday, killing two farmers."),
    ("sent-at", "Russia sent hundreds of Shahed drones at Ukrainian cities overnight."),
    # Where a missile was fired from is not where it came from.
    ("fired-from", "Russian forces fired cruise missiles from Belarus at Kyiv overnight."),
    # A maker building at home is no transfer, wherever the sentence says it builds.
    ("maker-at-home", "Baykar will build a second drone factory in Turkey, near Istanbul."),
    # Delivered at home: no other state is guessed as the recipient.
    (
        "delivered-at-home",
        "Greece watched closely. Roketsan handed over the first batteries of its Siper air "
        "defence system to the Turkish Air Force.",
    ),
]


def _tag(tagger: Tagger, text: str) -> Story:
    return tagger.tag(Story(source=Source(kind="file"), text=text))


@pytest.mark.parametrize(("name", "text", "expected"), CASES, ids=[c[0] for c in CASES])
def test_transfer_phrasings(tagger: Tagger, name: str, text: str, expected: list[T]) -> None:
    story = _tag(tagger, text)
    got = {(t.supplier, t.recipient, t.system_class, t.status, t.denied) for t in story.transfers}
    assert set(expected) <= got, got
    for t in story.transfers:
        for e in t.evidence:
            assert story.text[e.start : e.end] == e.sentence
        assert 0 < t.confidence <= 1


@pytest.mark.parametrize(("name", "text"), NONE, ids=[c[0] for c in NONE])
def test_no_transfer(tagger: Tagger, name: str, text: str) -> None:
    story = _tag(tagger, text)
    assert story.transfers == ()
    assert story.relevant is False


def test_entities_are_normalised_with_offsets(tagger: Tagger) -> None:
    story = _tag(tagger, "Tehran and the Kremlin deny that Iranian-made drones reached Moscow.")
    norms = {(e.text, e.norm) for e in story.entities}
    assert {("Tehran", "IR"), ("Kremlin", "RU"), ("Iranian", "IR"), ("Moscow", "RU")} <= norms
    assert all(story.text[e.start : e.end] == e.text for e in story.entities)


def test_irrelevant_text_never_reaches_spacy(tagger: Tagger) -> None:
    class NoSpacy:
        meta = tagger.nlp.meta

        def pipe(self, texts, **_):  # the prefilter must not send anything here
            texts = list(texts)
            assert texts == [], texts
            return iter(())

    story = Story(source=Source(kind="file"), text="The central bank raised interest rates again.")
    quiet = Tagger(NoSpacy(), tagger.gazetteer, tagger.triggers)  # type: ignore[arg-type]
    (tagged,) = quiet.tag_many([story])
    assert tagged.relevant is False and tagged.relevance == 0.0
    assert tagged.pipeline is not None
    assert not tagger.needs_nlp(story)
    assert tagger.needs_nlp(story.model_copy(update={"text": "Two drones were delivered."}))


def test_having_little_to_offer_is_no_offer(tagger: Tagger) -> None:
    story = _tag(
        tagger,
        "Belarus has supplied helicopters and armoured vehicles to Mali and Niger but has "
        "little to offer in the armed-drone segment.",
    )
    got = {(t.supplier, t.recipient, t.system_class) for t in story.transfers}
    assert ("BY", "ML", "aircraft") in got
    assert not {t for t in got if t[2] == "drone"}, got


def test_each_weapon_goes_with_its_own_party(tagger: Tagger) -> None:
    story = _tag(
        tagger, "Belarus sold Su-25 jets to Sudan and Tor-M2 air defence systems to Myanmar."
    )
    got = {(t.supplier, t.recipient, t.system_class) for t in story.transfers}
    assert got == {("BY", "SD", "aircraft"), ("BY", "MM", "air_defense")}


# Who denies and who confirms a transfer (the transfer ledger's denials and withdrawals).
PARTIES: list[tuple[str, str, tuple[str, ...], tuple[str, ...]]] = [
    (
        "denied-by-both",
        "Iran sent Shahed-136 drones to Russia, something both Moscow and Tehran have denied.",
        ("IR", "RU"),
        (),
    ),
    ("denied-by-supplier", "Tehran denied supplying Mohajer-6 drones to Sudan.", ("IR",), ()),
    ("admitted", "Iran admitted that it had supplied drones to Russia.", (), ("IR",)),
    (
        "acknowledged-recipient",
        "Russia acknowledged it had received Shahed-136 drones from Iran.",
        (),
        ("RU",),
    ),
    ("not-confirmed", "Moscow has not confirmed that Iran delivered drones to Russia.", (), ()),
    (
        "confirmed-by-a-third-party",
        "The Pentagon confirmed that Iran had sent drones to Russia.",
        (),
        (),
    ),
]


@pytest.mark.parametrize(
    ("name", "text", "denied_by", "confirmed_by"), PARTIES, ids=[c[0] for c in PARTIES]
)
def test_who_denies_and_who_confirms(
    tagger: Tagger, name: str, text: str, denied_by: tuple[str, ...], confirmed_by: tuple[str, ...]
) -> None:
    (transfer,) = _tag(tagger, text).transfers
    assert (transfer.denied_by, transfer.confirmed_by) == (denied_by, confirmed_by)
    assert transfer.denied is bool(denied_by)
