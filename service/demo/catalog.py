"""The demo's actors and topics: everyone the seed article mentions, and what they took sides on.

Roles are the ones actors really held when the article was written, not the article's: it calls
Sadyr Japarov Prime Minister of Kyrgyzstan, but he has been its President since January 2021, and a
role on record outlives the article. Aliases hold the transliterations feeds actually use.
"""

from service.domain.commands import DefineTopic, RegisterActor
from service.domain.values import ActorKind, StanceCues

ACTORS: tuple[RegisterActor, ...] = (
    RegisterActor(
        actor_id="putin",
        name="Vladimir Putin",
        kind=ActorKind.PERSON,
        country="RU",
        role="President of Russia",
        aliases=("Poutine", "Putin V.V.", "Vladimir Vladimirovich Putin"),
    ),
    RegisterActor(
        actor_id="lukashenko",
        name="Alexander Lukashenko",
        kind=ActorKind.PERSON,
        country="BY",
        role="President of Belarus",
        aliases=("Lukashenka", "Łukašenka", "Lukashenko A.G.", "Aliaksandr Lukashenka"),
    ),
    RegisterActor(
        actor_id="rahmon",
        name="Emomali Rahmon",
        kind=ActorKind.PERSON,
        country="TJ",
        role="President of Tajikistan",
        aliases=("Rakhmon", "Rahmonov", "Emomali Rakhmonov"),
    ),
    RegisterActor(
        actor_id="japarov",
        name="Sadyr Japarov",
        kind=ActorKind.PERSON,
        country="KG",
        role="President of Kyrgyzstan",
        aliases=("Zhaparov", "Dzhaparov", "Sadyr Zhaparov"),
    ),
    RegisterActor(
        actor_id="pashinyan",
        name="Nikol Pashinyan",
        kind=ActorKind.PERSON,
        country="AM",
        role="Prime Minister of Armenia; chair of the CSTO Collective Security Council in 2022",
        aliases=("Pashinian",),
    ),
    RegisterActor(
        actor_id="mirziyoyev",
        name="Shavkat Mirziyoyev",
        kind=ActorKind.PERSON,
        country="UZ",
        role="President of Uzbekistan",
        aliases=("Mirziyoev", "Mirziyoyev Sh."),
    ),
    RegisterActor(
        actor_id="tokayev",
        name="Kassym-Jomart Tokayev",
        kind=ActorKind.PERSON,
        country="KZ",
        role="President of Kazakhstan",
        aliases=("Tokaev", "Toqaev", "Tokayev K."),
    ),
    RegisterActor(
        actor_id="kamilov",
        name="Abdulaziz Kamilov",
        kind=ActorKind.PERSON,
        country="UZ",
        role="Foreign Minister of Uzbekistan",
        aliases=("Komilov", "Abdulaziz Komilov"),
    ),
    RegisterActor(
        actor_id="belarusian-generals",
        name="Belarusian generals",
        kind=ActorKind.GROUP,
        country="BY",
        role="Generals of the Belarusian armed forces",
    ),
    RegisterActor(
        actor_id="belarusian-volunteers",
        name="Belarusian volunteers",
        kind=ActorKind.GROUP,
        country="BY",
        role="Belarusian volunteers fighting for Ukraine",
    ),
)

TOPICS: tuple[DefineTopic, ...] = (
    DefineTopic(
        topic_id="war-justified",
        title="Russia's war against Ukraine",
        proposition="Russia's war against Ukraine is justified",
        keywords=("war against Ukraine", "special military operation", "invasion of Ukraine"),
        cues=StanceCues(
            opposes=("condemns", "against the invaders", "aggression"),
            leans_opposes=("distancing", "look at Ukraine carefully"),
            supports=("justified", "side with Putin", "the Kremlin's narrative"),
        ),
    ),
    DefineTopic(
        topic_id="ukraine-sovereignty",
        title="Ukraine's sovereignty",
        proposition="Ukraine's sovereignty and territorial integrity should be recognised",
        keywords=("sovereignty of Ukraine", "territorial integrity", "Luhansk", "Donetsk"),
        cues=StanceCues(
            opposes=("recognize the Donetsk", "recognize the Luhansk"),
            supports=("recognize the sovereignty", "territorial integrity of Ukraine"),
        ),
    ),
    DefineTopic(
        topic_id="nuclear-weapons-in-belarus",
        title="Russian nuclear weapons in Belarus",
        proposition="Russian nuclear weapons should be stationed in Belarus",
        keywords=("nuclear weapons", "no-nuclear status", "nuclear warheads"),
        cues=StanceCues(
            opposes=("no-nuclear status", "illegal"),
            supports=("stationing of nuclear weapons", "allow nuclear weapons"),
        ),
    ),
    DefineTopic(
        topic_id="belarus-troops-to-ukraine",
        title="Belarusian troops in the war",
        proposition="Belarus should send troops to fight in Ukraine",
        keywords=("Belarusian troops", "regular troops", "send troops"),
        cues=StanceCues(
            opposes=("refuses to send", "not needed"),
            supports=("send troops", "join the war"),
        ),
    ),
    DefineTopic(
        topic_id="kyrgyz-biosafety-lab",
        title="A Russian biosafety lab in Kyrgyzstan",
        proposition="Russia should build a biosafety laboratory in Kyrgyzstan",
        keywords=("biosafety lab", "biological laboratory", "Kyrgyzstan"),
        cues=StanceCues(opposes=("rejected", "refused"), supports=("request to build",)),
    ),
    DefineTopic(
        topic_id="csto-kazakhstan-intervention",
        title="The CSTO intervention in Kazakhstan",
        proposition="CSTO troops should intervene in Kazakhstan's unrest",
        keywords=("CSTO", "peacekeeping troops", "Kazakhstan", "riots"),
        cues=StanceCues(
            opposes=("withdraw", "foreign troops"),
            supports=("requested", "help to quell", "sent troops", "appealed to the CSTO"),
        ),
    ),
    DefineTopic(
        topic_id="russian-bases-in-belarus",
        title="Russian troops and bases in Belarus",
        proposition="Belarus should host Russian troops and military bases",
        keywords=("Russian troops", "military bases", "Russian bases"),
        cues=StanceCues(
            opposes=("withdraw Russian troops",),
            supports=("allowed Russian troops", "allow Russian military bases"),
        ),
    ),
    DefineTopic(
        topic_id="nato-nuclear-threat",
        title="NATO as a nuclear threat to Belarus",
        proposition="NATO poses a nuclear threat to Belarus",
        keywords=("NATO", "nuclear warheads", "nukes"),
        cues=StanceCues(
            supports=("training to deliver nuclear warheads", "symmetrical response"),
        ),
    ),
    DefineTopic(
        topic_id="armenia-turkey-normalisation",
        title="Armenia and Turkey",
        proposition="Armenia should normalise its relations with Turkey",
        keywords=("Turkey", "Armenia", "normalisation"),
        cues=StanceCues(leans_supports=("better relations",)),
    ),
)
