"""Forename nicknames and short forms recorded by agencies in England and Wales.

Agencies record the name a person gives: police may hold "William", a drug service
"Bill", a council "Liam". Each formal name below lists the short forms and spellings
that stand for it. A short form can stand for several formal names ("Chris" for
Christopher, Christine or Christian), so a name canonicalises to a *set* of formal
names and two forenames agree as nicknames when their sets intersect.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

# formal name -> its short forms and common variant spellings (lower case, letters only)
_TABLE: dict[str, tuple[str, ...]] = {
    "abigail": ("abby", "abbie", "abi", "gail"),
    "adam": ("ad",),
    "albert": ("al", "bert", "bertie"),
    "alan": ("al", "allan", "allen"),
    "alexander": ("alex", "alec", "al", "sandy", "xander", "lex"),
    "alexandra": ("alex", "alexa", "sandra", "sandy", "lexi", "lexie"),
    "alfred": ("alf", "alfie", "fred", "freddie"),
    "andrew": ("andy", "drew", "andi"),
    "anthony": ("tony", "ant", "anton"),
    "amanda": ("mandy", "manda"),
    "barbara": ("barb", "babs", "barbie"),
    "barry": ("baz", "bazza"),
    "bernadette": ("bernie", "detta"),
    "bernard": ("bernie", "bern"),
    "benjamin": ("ben", "benny", "benji"),
    "bradley": ("brad",),
    "bridget": ("bridie", "biddy", "bridgette"),
    "callum": ("cal", "calum"),
    "caroline": ("carrie", "caz", "carol", "caro"),
    "catherine": ("cath", "cathy", "kate", "katie", "kathryn", "katherine", "kath", "cat", "kay"),
    "charles": ("charlie", "chas", "chuck", "chaz"),
    "charlotte": ("charlie", "lottie", "lotte", "char"),
    "christian": ("chris",),
    "christine": ("chris", "chrissie", "christina", "tina"),
    "christopher": ("chris", "kit", "topher", "kristopher", "christoper"),
    "daniel": ("dan", "danny", "dane"),
    "danielle": ("dani", "elle"),
    "darren": ("daz", "dazza"),
    "derek": ("del", "dez"),
    "david": ("dave", "davie", "davey", "dai", "davy"),
    "deborah": ("debbie", "deb", "debra", "debs"),
    "dennis": ("den", "denny", "denis"),
    "dominic": ("dom", "dominick"),
    "donald": ("don", "donnie", "donny"),
    "dorothy": ("dot", "dotty", "dora", "dolly"),
    "douglas": ("doug", "dougie"),
    "edward": ("ed", "eddie", "ted", "teddy", "ned", "eddy"),
    "elizabeth": ("liz", "lizzie", "beth", "betty", "eliza", "libby", "bess", "elisabeth", "betsy"),
    "eleanor": ("ellie", "nell", "nora", "elle", "elinor"),
    "emily": ("em", "emmy", "millie"),
    "emma": ("em", "emmie"),
    "francis": ("frank", "frankie", "fran"),
    "frances": ("fran", "frankie", "fanny"),
    "frederick": ("fred", "freddie", "freddy", "frederic"),
    "gareth": ("gaz", "gary"),
    "gary": ("gaz", "garry", "gazza"),
    "geoffrey": ("geoff", "jeff", "jeffrey"),
    "george": ("georgie", "geordie"),
    "gerald": ("gerry", "ged", "jerry"),
    "gillian": ("gill", "jill", "gilly", "jillian"),
    "gregory": ("greg",),
    "harold": ("harry", "hal"),
    "harriet": ("hattie", "harry"),
    "henry": ("harry", "hal", "hank"),
    "jacob": ("jake", "jack"),
    "jacqueline": ("jackie", "jacqui", "jacky"),
    "james": ("jim", "jimmy", "jamie", "jimbo", "jamey"),
    "jane": ("janey", "jayne"),
    "janet": ("jan", "jenny", "janette"),
    "jennifer": ("jen", "jenny", "jenni", "jenna"),
    "jessica": ("jess", "jessie", "jessi"),
    "john": ("jack", "johnny", "jon", "johnnie", "jonny"),
    "jonathan": ("jon", "jonny", "jonty", "johnathan", "jonathon"),
    "joanne": ("jo", "joanna", "joann"),
    "joseph": ("joe", "joey", "jo"),
    "josephine": ("jo", "josie", "jose"),
    "joshua": ("josh",),
    "katherine": ("kate", "katie", "kathy", "kath", "kay", "kit", "catherine", "kathryn"),
    "kenneth": ("ken", "kenny"),
    "kimberley": ("kim", "kimberly"),
    "lawrence": ("larry", "laurie", "laurence", "lol"),
    "leonard": ("len", "lenny", "leo"),
    "lewis": ("lew", "louis"),
    "margaret": ("maggie", "meg", "peggy", "marge", "madge", "maisie", "greta", "rita", "mags"),
    "karen": ("kaz", "kazza"),
    "matthew": ("matt", "matty", "mat"),
    "melanie": ("mel", "mels"),
    "melissa": ("mel", "missy"),
    "michael": ("mike", "mick", "micky", "mickey", "mikey", "mich"),
    "michelle": ("shell", "shelley", "chelle"),
    "mohammed": ("mo", "moh", "mohammad", "muhammad", "mohamed", "mohamad"),
    "nathan": ("nat", "nate"),
    "natalie": ("nat", "tally", "nattie"),
    "nathaniel": ("nat", "nate", "nathan"),
    "nicholas": ("nick", "nicky", "nico", "nic", "nicolas"),
    "nicola": ("nicky", "nikki", "nic", "nicole"),
    "oliver": ("olly", "ollie", "ol"),
    "patricia": ("pat", "patty", "trish", "tricia", "patsy"),
    "patrick": ("pat", "paddy", "patsy"),
    "peter": ("pete", "petey"),
    "philip": ("phil", "pip", "phillip"),
    "rebecca": ("becky", "becca", "bex", "becki"),
    "raymond": ("ray",),
    "richard": ("rich", "richie", "rick", "ricky", "dick", "rico"),
    "robert": ("rob", "robbie", "bob", "bobby", "bert", "rab", "robby"),
    "ronald": ("ron", "ronnie"),
    "samantha": ("sam", "sammy", "sammie"),
    "samuel": ("sam", "sammy", "sammie"),
    "sarah": ("sally", "sadie", "sara"),
    "sharon": ("shaz", "shazza"),
    "stephen": ("steve", "stevie", "steven", "steph"),
    "steven": ("steve", "stevie", "stephen"),
    "stephanie": ("steph", "stephie", "steff"),
    "stuart": ("stu", "stewart"),
    "susan": ("sue", "susie", "suzy", "suzanne", "susannah"),
    "terence": ("terry", "tel", "terrence"),
    "theresa": ("terry", "terri", "tess", "tessa", "teresa"),
    "thomas": ("tom", "tommy", "thom", "tam"),
    "timothy": ("tim", "timmy"),
    "valerie": ("val",),
    "victoria": ("vicky", "vicki", "tori", "vic"),
    "vincent": ("vince", "vinny", "vin"),
    "walter": ("walt", "wally"),
    "william": ("bill", "billy", "will", "willie", "willy", "liam", "wills"),
    "zachary": ("zach", "zack", "zak", "zac"),
}


def _variant_index(table: Mapping[str, tuple[str, ...]]) -> dict[str, tuple[str, ...]]:
    """Invert the table: every spelling -> the sorted formal names it can stand for."""
    index: dict[str, set[str]] = {}
    for formal, variants in table.items():
        index.setdefault(formal, set()).add(formal)
        for variant in variants:
            index.setdefault(variant, set()).add(formal)
    return {name: tuple(sorted(formals)) for name, formals in index.items()}


NICKNAMES: Mapping[str, tuple[str, ...]] = MappingProxyType(_TABLE)
"""Formal forename -> its short forms and variant spellings."""

FORMAL_NAMES: Mapping[str, tuple[str, ...]] = MappingProxyType(_variant_index(_TABLE))
"""Any spelling in the table -> the formal forenames it can stand for (sorted)."""
