"""Embedded name, nickname and postcode data for simulated personal details.

Nothing here is downloaded. Lists are ordered from most to least common within each
pool; :func:`pool_weights` turns that order into Zipf-like frequencies, which is how
name frequencies behave in the population (a few very common names, a long tail).
Pools let names follow recorded ethnicity loosely (a South Asian surname is more
likely for someone recorded as Asian), which matters for linkage: term frequencies
of names differ between communities.
"""

from __future__ import annotations

import numpy as np

Pool = str
NamePools = dict[Pool, tuple[str, ...]]

# Zipf exponents for within-pool frequencies. The lists are short heads of long-tailed
# distributions, so the exponents are flatter than the population's: they put the most
# common forename near 5% (David, Sarah among 1960-2000 births) and Smith near 3%
# (about 1.3% in England and Wales, where the tail is far longer).
FORENAME_ZIPF_EXPONENT = 0.6
SURNAME_ZIPF_EXPONENT = 0.5


def _split(text: str) -> tuple[str, ...]:
    """Names written as whitespace-separated words, in order (most common first)."""
    return tuple(text.split())


MALE_FORENAMES: NamePools = {
    "general": _split(
        """
        David John Michael Paul Andrew Mark James Richard Peter Stephen Robert Christopher Daniel
        Thomas Matthew Ian William Anthony Gary Simon Steven Martin Kevin Jason Lee Darren Craig
        Wayne Dean Carl Neil Jonathan Adam Ryan Liam Luke Jack Joshua Jordan Callum Connor Kieran
        Lewis Nathan Jamie Scott Shaun Sean Ashley Jake Joseph Samuel Benjamin Alexander Harry
        Charlie George Oliver Alfie Tyler Bradley Aaron Reece Kyle Brandon Mason Ethan Dylan Owen
        Joel Jacob Keith Brian Colin Graham Philip Kenneth Barry Terence Raymond Alan Derek Trevor
        Roy Leslie Gordon Malcolm Russell Stuart Gareth Dominic Nicholas Patrick Edward Henry
        Frederick Charles Francis Lawrence Leonard Ronald Donald Gerald Gregory Timothy Jeremy
        Marcus Damian Glenn Karl Jay Leon Levi Louis Max Archie Theo Kai Zachary Harvey Lloyd Rhys
        Declan Curtis Ricky Danny Billy Tony Robbie Mitchell Elliot Cameron Morgan
        """
    ),
    "south_asian": _split(
        """
        Mohammed Muhammad Ali Imran Adil Asif Tariq Zain Hamza Bilal Usman Amir Arjun Rajesh Sanjay
        Harjit Jaspal Gurpreet Kamran Faisal Shahid Zubair Nadeem Waqas Ravinder
        """
    ),
    "black": _split(
        """
        Emmanuel Jermaine Tyrone Marlon Delroy Winston Kwame Kofi Tunde Ibrahim Abdul Yusuf Samuel
        Daniel Joshua Michael Clinton Errol Leroy Chinedu
        """
    ),
    "east_european": _split(
        """
        Piotr Tomasz Marek Lukasz Krzysztof Pawel Andrzej Mihai Florin Ionut Adrian Marius Jakub
        Mateusz Darius
        """
    ),
}

FEMALE_FORENAMES: NamePools = {
    "general": _split(
        """
        Sarah Emma Claire Lisa Nicola Michelle Karen Joanne Julie Helen Rachel Laura Amanda Kelly
        Donna Samantha Louise Victoria Rebecca Gemma Stacey Hayley Kirsty Leanne Jodie Danielle
        Natalie Charlotte Jessica Amy Lauren Chloe Sophie Hannah Megan Bethany Jade Shannon Courtney
        Paige Chelsea Abigail Olivia Emily Grace Ellie Lucy Holly Georgia Katie Amelia Isla Ava Mia
        Freya Poppy Evie Ruby Lily Susan Margaret Elizabeth Patricia Christine Linda Deborah Sharon
        Tracey Jacqueline Dawn Angela Carol Wendy Alison Jennifer Catherine Katherine Caroline
        Kimberley Stephanie Melanie Melissa Tanya Sonia Andrea Anne Jane Janet Gillian Lesley Maria
        Theresa Bernadette Dorothy Josephine Jean Sandra Pauline Diane Beverley Eleanor Alexandra
        Jasmine Leah Zoe Kayleigh Demi Toni Naomi Keeley Jenna Carly Shelley Kerry Cheryl Marie
        Rosie Millie Phoebe Scarlett Summer Tia Caitlin Tina Vicky Becky Jackie Debbie Mandy Nadine
        Sian Bridget Abbie Erin
        """
    ),
    "south_asian": _split(
        """
        Fatima Aisha Ayesha Zainab Maryam Amina Nadia Samina Shabana Nasreen Parveen Rukhsana Sana
        Hina Priya Sunita Harpreet Manpreet Simran Kiran Amandeep Shazia Rubina
        """
    ),
    "black": _split(
        """
        Chantelle Shanice Abena Ama Blessing Precious Chidinma Grace Faith Marcia Sonia Natasha
        Tanisha Adaeze Yasmin
        """
    ),
    "east_european": _split(
        """
        Agnieszka Katarzyna Magdalena Joanna Anna Monika Ewa Andreea Ioana Elena Natalia Karolina
        Aleksandra Justyna
        """
    ),
}

SURNAMES: NamePools = {
    "general": _split(
        """
        Smith Jones Williams Taylor Brown Davies Evans Wilson Thomas Johnson Roberts Robinson
        Thompson Wright Walker White Edwards Hughes Green Hall Lewis Harris Clarke Jackson Wood
        Turner Martin Cooper Hill Ward Morris Moore Clark Lee King Baker Harrison Morgan Allen James
        Scott Phillips Watson Davis Parker Price Bennett Young Griffiths Mitchell Kelly Cook Carter
        Richardson Bailey Collins Bell Shaw Murphy Miller Cox Richards Marshall Anderson Simpson
        Ellis Adams Wilkinson Foster Chapman Powell Webb Rogers Gray Mason Hunt Campbell Matthews
        Owen Palmer Holmes Mills Barnes Knight Lloyd Butler Russell Barker Fisher Stevens Jenkins
        Murray Dixon Harvey Graham Pearson Fletcher Walsh Gibson Howard Andrews Stewart Elliott
        Reynolds Saunders Payne Fox Ford Pearce Day Brooks West Lawrence Cole Atkinson Bradley
        Spencer Gill Dawson Ball Burton O'Brien Watts Rose Booth Perry Ryan Grant Wells Armstrong
        Francis Rees Hayes Hart Hudson Newman Barrett Webster Hunter Gregory Carr Lowe Page Marsh
        Riley Dunn Woods Parsons Berry Stone Reid Holland Hawkins Harding Porter Robertson Newton
        Oliver Reed Kennedy Williamson Bird Gardner Dean Lane Cooke Bates Henderson Parry Burgess
        Bishop Walton Burns Nicholson Shepherd Ross Cross Long Freeman Warren Nicholls Hamilton
        Byrne Sutton McDonald Yates Hodgson Robson Curtis Hopkins O'Connor Harper Coleman Watkins
        Moss McCarthy Chambers O'Neill Griffin Sharp Hardy Wheeler Potter Osborne Johnston Gordon
        Doyle Wallace George Jordan Hutchinson Rowe Burke May Pritchard Gilbert Willis Higgins Read
        Miles Stevenson Stephenson Hammond Arnold Buckley Walters Hewitt Barber Nelson Slater Austin
        Sullivan Whitehead Mann Frost Lambert Stephens Blake Lynch Goodwin Barton Woodward Thomson
        Cunningham Quinn Barnett Baxter Clayton Nash Greenwood Jennings Holt Kemp Poole Gallagher
        Bond Stokes Tucker Davidson Fowler Heath Norman Middleton Lawson Banks French Stanley Jarvis
        Gibbs Ferguson Hayward Carroll Farrell Hicks
        """
    )
    # North Staffordshire surnames, over-represented locally.
    + _split(
        """
        Hulme Salt Plant Boulton Bloor Mellor Beech Hancock Birks Bourne Brindley Adderley Podmore
        Hassall Dale Mountford Wedgwood Shenton Capewell Tomkinson Bagnall Machin Forrester Sherratt
        Steele Rowley Ridgway Keeling Degg Cope Lovatt Swinnerton Bossons Cartlidge Colclough Emery
        Finney Goldstraw Hammersley Leese Malkin Oakes Pointon Rhodes Stubbs Turnock Wardle Whieldon
        Wilshaw Yoxall Ashley Bowers Mayer Tunnicliffe Heath-Smith Lloyd-Jones Critchlow Alcock
        Barlow Brereton Dutton Ford-Hughes Grocott Harrop Jervis Kirkham Lymer Meakin Nixon Proctor
        Riley-Smith Stanier Talbot Unwin Vernon Whalley
        """
    ),
    "south_asian": _split(
        """
        Khan Patel Singh Ali Hussain Begum Ahmed Kaur Shah Akhtar Bibi Iqbal Mahmood Rahman
        Chowdhury Mirza Aslam Rashid Anwar Malik Butt Sharma Kumar Gill Sandhu Bains Dhillon Sidhu
        Mistry Rehman Qureshi Javed
        """
    ),
    "black": _split(
        """
        Mensah Okafor Adeyemi Osei Boateng Owusu Asante Okonkwo Adebayo Bello Abdi Mohamed Hassan
        Warsame Farah Campbell Francis Grant Forbes McKenzie
        """
    ),
    "east_european": _split(
        """
        Nowak Kowalski Wisniewski Wojcik Kowalczyk Kaminski Lewandowski Zielinski Szymanski Wozniak
        Dabrowski Kozlowski Jankowski Mazur Krawczyk Popescu Ionescu Popa Radu Stan Dumitru
        Kazlauskas Petrauskas Horvath Novak
        """
    ),
}

# Which name pools people recorded in each ONS broad ethnic group draw from, and how
# often. Loose on purpose: many Black British people have surnames from the general
# pool, and recorded ethnicity is itself noisy.
POOL_MIX_BY_ETHNICITY: dict[str, dict[Pool, float]] = {
    "White": {"general": 0.95, "east_european": 0.05},
    "Asian": {"south_asian": 0.8, "general": 0.2},
    "Black": {"black": 0.45, "general": 0.55},
    "Mixed": {"general": 0.8, "black": 0.1, "south_asian": 0.1},
    "Other": {"general": 0.5, "east_european": 0.2, "south_asian": 0.15, "black": 0.15},
    "Not stated": {"general": 0.85, "south_asian": 0.07, "black": 0.04, "east_european": 0.04},
}
# Used when ethnicity is unknown to the caller: roughly North Staffordshire's mix.
DEFAULT_POOL_MIX: dict[Pool, float] = {
    "general": 0.88,
    "south_asian": 0.06,
    "black": 0.03,
    "east_european": 0.03,
}

# Common English diminutives: a forename may be recorded as any of these by an agency
# (the person gave "Bill" at the front desk). Keys appear in the forename lists.
NICKNAMES: dict[str, tuple[str, ...]] = {
    "William": ("Bill", "Will", "Billy", "Liam"),
    "Robert": ("Bob", "Rob", "Bobby", "Robbie"),
    "Richard": ("Rich", "Rick", "Richie", "Dick"),
    "James": ("Jim", "Jimmy", "Jamie"),
    "John": ("Jack", "Johnny", "Jon"),
    "Michael": ("Mike", "Mick", "Mickey"),
    "Thomas": ("Tom", "Tommy"),
    "Anthony": ("Tony", "Ant"),
    "Christopher": ("Chris", "Kit"),
    "Daniel": ("Dan", "Danny"),
    "David": ("Dave", "Davy"),
    "Edward": ("Ed", "Eddie", "Ted"),
    "Joseph": ("Joe", "Joey"),
    "Matthew": ("Matt",),
    "Nicholas": ("Nick", "Nicky"),
    "Peter": ("Pete",),
    "Stephen": ("Steve", "Stevie"),
    "Steven": ("Steve", "Stevie"),
    "Andrew": ("Andy", "Drew"),
    "Benjamin": ("Ben", "Benny"),
    "Samuel": ("Sam", "Sammy"),
    "Alexander": ("Alex", "Alec", "Sandy"),
    "Jonathan": ("Jon", "Jonny"),
    "Timothy": ("Tim", "Timmy"),
    "Patrick": ("Pat", "Paddy"),
    "Kenneth": ("Ken", "Kenny"),
    "Ronald": ("Ron", "Ronnie"),
    "Donald": ("Don", "Donny"),
    "Gerald": ("Gerry",),
    "Terence": ("Terry",),
    "Lawrence": ("Larry", "Laurie"),
    "Leonard": ("Len", "Lenny"),
    "Raymond": ("Ray",),
    "Philip": ("Phil",),
    "Gregory": ("Greg",),
    "Francis": ("Frank", "Frankie"),
    "Frederick": ("Fred", "Freddie"),
    "Charles": ("Charlie", "Chas"),
    "Henry": ("Harry", "Hal"),
    "Zachary": ("Zac", "Zack"),
    "Jacob": ("Jake",),
    "Joshua": ("Josh",),
    "Callum": ("Cal",),
    "Dominic": ("Dom",),
    "Gareth": ("Gaz",),
    "Gary": ("Gaz",),
    "Barry": ("Baz",),
    "Darren": ("Daz",),
    "Mohammed": ("Mo",),
    "Muhammad": ("Mo",),
    "Margaret": ("Maggie", "Peggy", "Meg"),
    "Elizabeth": ("Liz", "Beth", "Lizzie", "Betty"),
    "Catherine": ("Cath", "Kate", "Cathy"),
    "Katherine": ("Kate", "Kath", "Katie"),
    "Jennifer": ("Jen", "Jenny"),
    "Rebecca": ("Becky", "Becca"),
    "Victoria": ("Vicky", "Tori"),
    "Samantha": ("Sam", "Sammie"),
    "Alexandra": ("Alex", "Lexi"),
    "Jessica": ("Jess",),
    "Charlotte": ("Charlie", "Lottie"),
    "Deborah": ("Debbie", "Deb"),
    "Susan": ("Sue", "Suzy"),
    "Patricia": ("Pat", "Trish"),
    "Christine": ("Chris", "Chrissie"),
    "Jacqueline": ("Jackie",),
    "Nicola": ("Nicky", "Nic"),
    "Stephanie": ("Steph",),
    "Amanda": ("Mandy",),
    "Abigail": ("Abbie", "Abby"),
    "Danielle": ("Dani",),
    "Kimberley": ("Kim",),
    "Natalie": ("Nat",),
    "Eleanor": ("Ellie", "Nell"),
    "Josephine": ("Jo", "Josie"),
    "Joanne": ("Jo",),
    "Theresa": ("Tess", "Terri"),
    "Melissa": ("Mel",),
    "Melanie": ("Mel",),
    "Bernadette": ("Bernie",),
    "Gillian": ("Gill", "Jill"),
    "Caroline": ("Carrie", "Caz"),
    "Michelle": ("Shell",),
    "Dorothy": ("Dot", "Dolly"),
    "Sharon": ("Shaz",),
    "Karen": ("Kaz",),
}

# North Staffordshire postcode districts (Stoke-on-Trent, Newcastle-under-Lyme,
# Staffordshire Moorlands, Stafford) weighted by rough share of people known to police:
# the inner Stoke districts (Hanley, Bucknall, Longton, Stoke, Burslem) carry most.
POSTCODE_DISTRICTS: dict[str, dict[str, float]] = {
    "North Staffordshire": {
        "ST1": 11.0,  # Hanley, Shelton
        "ST2": 9.0,  # Bucknall, Bentilee, Abbey Hulton
        "ST3": 10.0,  # Longton, Meir, Blurton
        "ST4": 9.0,  # Stoke, Fenton, Trent Vale
        "ST5": 8.0,  # Newcastle-under-Lyme
        "ST6": 10.0,  # Burslem, Tunstall, Smallthorne
        "ST7": 5.0,  # Kidsgrove, Talke, Alsager
        "ST8": 2.0,  # Biddulph
        "ST9": 1.0,  # Werrington, Stockton Brook
        "ST10": 2.5,  # Cheadle
        "ST11": 1.0,  # Blythe Bridge
        "ST12": 0.7,  # Barlaston
        "ST13": 3.0,  # Leek
        "ST14": 2.5,  # Uttoxeter
        "ST15": 2.0,  # Stone
        "ST16": 5.0,  # Stafford
        "ST17": 4.0,  # Stafford south, Baswich
        "ST18": 1.2,  # Stafford rural
        "ST19": 1.0,  # Penkridge
        "ST20": 0.5,  # Gnosall
        "ST21": 0.6,  # Eccleshall
    },
}
DEFAULT_AREA = "North Staffordshire"

# A regional or national extract spans many IOM areas. Area 0 keeps the named area's own
# districts; every further area gets the same pattern of districts (and weights) under a
# postcode area of its own: two letters, "AA", "AB", ... (skipping the named area's), so
# "AA1" to "AA21" for the second area. They are synthetic, not the real geography: what
# matters to linkage is that districts, like people, grow with the extract, and that
# people per district stay what one area has (North Staffordshire at 20,000 nominals:
# about 950 per district, 8,000 in the largest).
_AREA_LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
MAX_AREAS = len(_AREA_LETTERS) ** 2 - 1


def pool_weights(names: tuple[str, ...], exponent: float = FORENAME_ZIPF_EXPONENT) -> np.ndarray:
    """Normalised Zipf weights for a name list ordered from most to least common.

    Parameters
    ----------
    names
        One pool, most common first.
    exponent
        Zipf exponent: weight of the name at rank ``r`` is proportional to ``r**-exponent``.

    Returns
    -------
    numpy.ndarray
        Probabilities summing to 1, aligned with ``names``.
    """
    ranks = np.arange(1, len(names) + 1, dtype=float)
    w = ranks**-exponent
    return w / w.sum()


def _area_prefixes(own: str, n_areas: int) -> list[str]:
    """Postcode areas of a geography of ``n_areas`` areas: ``own`` first, then AA, AB, ..."""
    others = (a + b for a in _AREA_LETTERS for b in _AREA_LETTERS if a + b != own)
    return [own, *(next(others) for _ in range(n_areas - 1))]


def postcode_districts(area: str = DEFAULT_AREA, n_areas: int = 1) -> tuple[tuple[str, ...], np.ndarray]:
    """Postcode districts of ``area`` (or of a geography of ``n_areas`` areas) and their probabilities.

    An area is matched by name or name prefix; one without embedded districts falls
    back to North Staffordshire: the simulator only needs realistic-looking districts,
    not the real geography. With ``n_areas`` > 1 the districts are area-major: area
    ``k``'s are positions ``k * d`` to ``k * d + d - 1`` (``d`` districts per area), each
    area an equal share of the people (see ``_AREA_LETTERS`` above).

    Returns
    -------
    tuple
        ``(districts, probabilities)``.
    """
    if not 1 <= n_areas <= MAX_AREAS:
        raise ValueError(f"n_areas must be between 1 and {MAX_AREAS}, got {n_areas}")
    # "North Staffordshire (simulated)" uses North Staffordshire's districts.
    known = next((k for k in POSTCODE_DISTRICTS if area == k or area.startswith(k)), DEFAULT_AREA)
    table = POSTCODE_DISTRICTS[known]
    districts = tuple(table)
    p = np.array([table[d] for d in districts], dtype=float)
    if n_areas == 1:
        return districts, p / p.sum()
    own = districts[0].rstrip("0123456789")
    numbers = [d.removeprefix(own) for d in districts]
    geography = tuple(prefix + number for prefix in _area_prefixes(own, n_areas) for number in numbers)
    weights = np.tile(p / p.sum(), n_areas)
    return geography, weights / weights.sum()


def areas_for(nominals: int, nominals_per_area: int | None) -> int:
    """Areas an extract of ``nominals`` people spans: one when ``nominals_per_area`` is None."""
    if nominals_per_area is None:
        return 1
    return max(1, -(-nominals // nominals_per_area))
