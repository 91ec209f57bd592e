"""Every position the seed article reports, then the corrections the public record demands.

The article is a reader's letter and gets several facts wrong. Its statements are recorded as it
reports them (quotes are its exact words), and the errors are fixed by later corrections that cite
the record, which is how a real newsroom error would reach the log.

Dates: the article gives the CSTO summit (16 May 2022), 24 February and "February" for Kazakhstan.
Where it gives none, the public record does (the constitutional referendum of 27 February 2022;
Lukashenko's remarks on NATO to Putin in St Petersburg on 25 June 2022). Positions it reports as
holding "up to now" are dated 25 June 2022, the latest dated event it mentions: the letter cannot
be older, so no replay shows them before the letter could have reported them.
"""

from datetime import UTC, datetime, timedelta, timezone

from service.demo.steps import DemoStep, demo_statement_id
from service.domain.commands import CorrectStatement, RecordStatement
from service.domain.stances import Stance
from service.domain.values import Source, StatementKind

# The letter names no outlet and no date; example.org (reserved, RFC 2606) marks the address as a
# stand-in rather than a link that might one day point at something else.
ARTICLE = Source(
    url="https://example.org/letters/2022/lukashenko-putins-ally",
    title="Lukashenko, Putin’s ally",
    publisher="Letter by Erich Wannemacher, Lapu-Lapu City",
    published_at=None,
)

KAMILOV_SENATE_REPORT = Source(
    url="https://timeturk.com/en/uzbekistan-supports-territorial-integrity-of-ukraine/news-55967",
    title="Uzbekistan supports territorial integrity of Ukraine",
    publisher="TimeTurk",
    published_at=datetime(2022, 3, 17, 20, 19, 6, tzinfo=timezone(timedelta(hours=3))),
)

CSTO_SUMMIT = datetime(2022, 5, 16, tzinfo=UTC)
LATEST_REPORTED = datetime(2022, 6, 25, tzinfo=UTC)
# The article says only "in February"; the first of the month is the earliest it can mean.
ARTICLE_FEBRUARY = datetime(2022, 2, 1, tzinfo=UTC)

_BIOSAFETY_LAB = (
    "Kyrgyzstan Prime Minister Sadyr Japarov rejected Putin’s request to build a “biosafety lab” "
    "in his country"
)
_CONSTITUTION = (
    "He changed the constitution to allow Russian military bases and the stationing of nuclear "
    "weapons on Belarusian soil."
)


def _said(
    key: str,
    actor_id: str,
    topic_id: str,
    stance: Stance,
    quote: str,
    stated_at: datetime,
    kind: StatementKind,
    confidence: float = 1.0,
    note: str | None = None,
) -> DemoStep:
    command = RecordStatement(
        statement_id=demo_statement_id(key),
        actor_id=actor_id,
        topic_id=topic_id,
        stance=stance,
        quote=quote,
        stated_at=stated_at,
        kind=kind,
        source=ARTICLE,
        confidence=confidence,
    )
    return DemoStep.of(f"statement:{key}", command, note)


def article_statements() -> list[DemoStep]:
    """The positions as the article reports them, in the article's order."""
    quote, paraphrase, action = (
        StatementKind.DIRECT_QUOTE,
        StatementKind.PARAPHRASE,
        StatementKind.ACTION,
    )
    return [
        _said(
            "putin-justifies-war", "putin", "war-justified", Stance.SUPPORTS,
            "In his opening speech Putin justified his ‘special military operation’",
            CSTO_SUMMIT, paraphrase,
        ),
        _said(
            "lukashenko-sides-with-putin", "lukashenko", "war-justified", Stance.SUPPORTS,
            "Only Lukashenko spoke about Ukraine and challenged the other (equally authoritarian) "
            "leaders to side with Putin.",
            CSTO_SUMMIT, paraphrase,
        ),
        _said(
            "putin-asks-for-biosafety-lab", "putin", "kyrgyz-biosafety-lab", Stance.SUPPORTS,
            _BIOSAFETY_LAB, CSTO_SUMMIT, paraphrase, 0.8,
            note="Inferred from the request Japarov rejected; the article does not date it.",
        ),
        _said(
            "japarov-rejects-biosafety-lab", "japarov", "kyrgyz-biosafety-lab", Stance.OPPOSES,
            _BIOSAFETY_LAB, CSTO_SUMMIT, paraphrase,
            note="The article calls Japarov Prime Minister; he is President of Kyrgyzstan.",
        ),
        _said(
            "pashinyan-turkey-relations", "pashinyan", "armenia-turkey-normalisation",
            Stance.LEANS_SUPPORTS,
            "Armenian Prime Minister and current CSTO chairman Nikol Pashinyan spoke on better "
            "relations with Turkey",
            CSTO_SUMMIT, paraphrase, 0.8,
        ),
        _said(
            "mirziyoyev-recognizes-ukraine", "mirziyoyev", "ukraine-sovereignty", Stance.SUPPORTS,
            "We recognize the sovereignty of Ukraine.", CSTO_SUMMIT, quote,
        ),
        _said(
            "tokayev-requests-csto-help", "tokayev", "csto-kazakhstan-intervention",
            Stance.SUPPORTS,
            "When in February riots broke out in the capital Nursultan he requested Putin to help "
            "quell the protests against his regime.",
            ARTICLE_FEBRUARY, action,
        ),
        _said(
            "putin-sends-csto-troops", "putin", "csto-kazakhstan-intervention", Stance.SUPPORTS,
            "Putin sent 2,500 CSTO peace keeping troops.", ARTICLE_FEBRUARY, action,
        ),
        _said(
            "tokayev-look-at-ukraine", "tokayev", "war-justified", Stance.LEANS_OPPOSES,
            "Look at Ukraine carefully!", LATEST_REPORTED, quote, 0.8,
            note="The article reads the remark as Tokayev distancing himself from the war.",
        ),
        _said(
            "lukashenko-hosts-russian-troops", "lukashenko", "russian-bases-in-belarus",
            Stance.SUPPORTS,
            "He allowed Russian troops near the Belarus border with Ukraine so that they could "
            "launch their attack on Kyiv and Chernihiv on February 24.",
            datetime(2022, 2, 24, tzinfo=UTC), action,
        ),
        _said(
            "lukashenko-constitution-bases", "lukashenko", "russian-bases-in-belarus",
            Stance.SUPPORTS, _CONSTITUTION, datetime(2022, 2, 27, tzinfo=UTC), action,
            note="Dated by the constitutional referendum of 27 February 2022.",
        ),
        _said(
            "lukashenko-constitution-nuclear", "lukashenko", "nuclear-weapons-in-belarus",
            Stance.SUPPORTS, _CONSTITUTION, datetime(2022, 2, 27, tzinfo=UTC), action,
            note="Dated by the constitutional referendum of 27 February 2022.",
        ),
        _said(
            "lukashenko-nato-training", "lukashenko", "nato-nuclear-threat", Stance.SUPPORTS,
            "NATO states are training to deliver nuclear warheads", LATEST_REPORTED, quote,
            note="Said to Putin in St Petersburg on 25 June 2022.",
        ),
        _said(
            "lukashenko-symmetrical-response", "lukashenko", "nato-nuclear-threat",
            Stance.SUPPORTS,
            "Can you help us to adjust the fighter jets in order to establish a symmetrical "
            "response to NATO’s readiness to use nukes?",
            LATEST_REPORTED, quote,
            note="Said to Putin in St Petersburg on 25 June 2022.",
        ),
        _said(
            "lukashenko-refuses-troops", "lukashenko", "belarus-troops-to-ukraine",
            Stance.OPPOSES,
            "Up to now Lukashenko refuses to send some of his 45,000 regular troops into the war. "
            "He argues that they are not needed because Russia is strong enough alone to "
            "“demilitarize the Nazis”.",
            LATEST_REPORTED, paraphrase,
        ),
        _said(
            "generals-oppose-nuclear-weapons", "belarusian-generals", "nuclear-weapons-in-belarus",
            Stance.OPPOSES,
            "Lukashenko’s generals warn him that the constitution change was illegal because it "
            "abolished both the country’s no-nuclear status and its sovereignty.",
            LATEST_REPORTED, paraphrase, 0.8,
        ),
        _said(
            "generals-friends-with-ukrainians", "belarusian-generals", "war-justified",
            Stance.LEANS_OPPOSES,
            "They also hold that Belarusians and Ukrainians are friends. They admire the Ukrainian "
            "soldiers’ bravery.",
            LATEST_REPORTED, paraphrase, 0.6,
            note="An inference from sympathy, not a stated position: low confidence, for review.",
        ),
        _said(
            "volunteers-fight-for-ukraine", "belarusian-volunteers", "war-justified",
            Stance.OPPOSES,
            "However Belarusians are fighting in Ukraine; about 500 volunteers on the side of the "
            "Ukrainian army against the invaders.",
            LATEST_REPORTED, action,
        ),
    ]  # fmt: skip


def public_record_corrections() -> list[DemoStep]:
    """Fixes for what the article got wrong, each citing the record; recorded after the article."""
    return [
        DemoStep.of(
            "correction:tokayev-requests-csto-help",
            CorrectStatement(
                statement_id=demo_statement_id("tokayev-requests-csto-help"),
                stated_at=datetime(2022, 1, 5, tzinfo=UTC),
                reason=(
                    "The unrest in Kazakhstan and the CSTO deployment were in January 2022, not "
                    "February: Tokayev appealed to the heads of the CSTO states for help on "
                    "5 January 2022, and the worst violence was in Almaty, not the capital."
                ),
            ),
        ),
        DemoStep.of(
            "correction:putin-sends-csto-troops",
            CorrectStatement(
                statement_id=demo_statement_id("putin-sends-csto-troops"),
                stated_at=datetime(2022, 1, 6, tzinfo=UTC),
                reason=(
                    "The CSTO deployment to Kazakhstan was in January 2022, not February: the "
                    "CSTO Collective Security Council agreed to send peacekeepers on 6 January "
                    "2022, and the first Russian troops landed in Almaty that day."
                ),
            ),
        ),
        DemoStep.of(
            "correction:mirziyoyev-recognizes-ukraine",
            CorrectStatement(
                statement_id=demo_statement_id("mirziyoyev-recognizes-ukraine"),
                actor_id="kamilov",
                stated_at=datetime(2022, 3, 17, tzinfo=UTC),
                quote="Uzbekistan recognizes Ukraine's independence, sovereignty and territorial "
                "integrity.",
                source=KAMILOV_SENATE_REPORT,
                reason=(
                    "Uzbekistan suspended its CSTO membership in 2012, so President Mirziyoyev "
                    "was not at the CSTO summit of 16 May 2022. Uzbekistan's recognition of "
                    "Ukraine's sovereignty was stated by Foreign Minister Abdulaziz Kamilov in "
                    "the Senate on 17 March 2022."
                ),
            ),
        ),
    ]
