"""Round 85d (audit 85b): the offline default's guided root on small newcomer files.

F1: a table lined up with blanks whose last column is mostly empty is read row by row, by the header's column
positions, so a cell never crosses into the row above or below."""

from __future__ import annotations

from guided_stub import ask, first_line
from rlmx.lm.guided_cells import aligned_table, split_units

STOCK = """Harbour Hardware - stock check, 3 March

Part                 Count    Shelf       Reorder level     Note
Hinge, brass         40       A1          10 - 20
Wood screw 4x40      900      A2          200 - 400
Wall plug            75       B4          100 - 300         LOW
Door handle          12       C1          5 - 10
Padlock              3        C2          4 - 8             LOW
Chain, per metre     55       D3          20 - 30

Checked by: Imogen Hale.
"""


def test_an_aligned_table_with_blank_last_cells_is_read_by_column() -> None:
    block = STOCK.split("\n")[2:9]
    read = aligned_table(block)
    assert read is not None
    header, rows = read
    assert header == ["Part", "Count", "Shelf", "Reorder level", "Note"]
    assert len(rows) == 6
    assert rows[0] == ["Hinge, brass", "40", "A1", "10 - 20", ""]
    assert rows[2] == ["Wall plug", "75", "B4", "100 - 300", "LOW"]


def test_each_row_of_an_aligned_table_inside_prose_is_a_unit_of_its_own() -> None:
    units, _ = split_units([("stock.txt", STOCK)])
    rows = [u for u in units if u.get("keys")]
    assert [u["name"] for u in rows] == [
        "Hinge, brass",
        "Wood screw 4x40",
        "Wall plug",
        "Door handle",
        "Padlock",
        "Chain, per metre",
    ]
    handle = next(u for u in rows if u["name"] == "Door handle")
    assert "LOW" not in handle["text"] and "Padlock" not in handle["text"]
    assert "Reorder level: 5 - 10" in handle["text"]


def test_a_cell_of_the_row_above_is_no_answer_for_the_next_row() -> None:
    # the reader names the LOW of the wall plug's row for the door handle: no row holds both
    answer = ask(STOCK, "Is the door handle low?", reply="Yes")
    assert first_line(answer) != "Yes"
    answer = ask(STOCK, "Which parts are marked low?", reply="LOW Door handle")
    assert "LOW Door handle" not in first_line(answer)


def test_the_rows_of_an_aligned_table_with_blank_last_cells_are_counted() -> None:
    answer = ask(STOCK, "How many parts were checked?")
    assert first_line(answer) == "6"


def test_a_whole_file_aligned_table_is_read_by_column_too() -> None:
    table = "Stock check\n\n" + "\n".join(STOCK.split("\n")[2:9]) + "\n"
    units, _ = split_units([("stock.txt", table)])
    handle = next(u for u in units if u["name"] == "Door handle")
    assert handle["text"] == "Part: Door handle; Count: 12; Shelf: C1; Reorder level: 5 - 10"
    # the count is no reorder level, though the row writes both
    assert first_line(ask(table, "What is the reorder level for the padlock?", reply="3")) != "3"


# F2: the asked verb must be said of the asked noun, in its own item of a comma list, not of the item beside it.
BIKE_LOG = """Workshop card - road bike, frame 54 cm

2024-02-10  Chain measured, brake pads renewed. Labour £20.
2024-09-01  Rear tyre swapped, gears indexed. Labour £25.
2025-03-15  The bar tape, saddle and chain were renewed. Labour £60.
"""


def test_a_verb_of_the_next_list_item_does_not_answer_for_the_asked_noun() -> None:
    # "Chain measured, brake pads renewed": the chain was only measured then
    answer = ask(
        BIKE_LOG.replace("The bar tape, saddle and chain were renewed.", "Bottle cage fitted."),
        "Was the chain renewed?",
        reply="Yes",
    )
    assert first_line(answer) != "Yes"
    answer = ask(BIKE_LOG, "Were the gears swapped?", reply="Yes")
    assert first_line(answer) != "Yes"


def test_nouns_sharing_one_verb_still_answer_yes() -> None:
    assert first_line(ask(BIKE_LOG, "Was the saddle renewed?", reply="Yes")) == "Yes"
    assert first_line(ask(BIKE_LOG, "Were the brake pads renewed?", reply="Yes")) == "Yes"


# F3: the number must be the one of the asked word's clause; `Label N:` lines are units of their own.
STEW = """Bean Stew
Serves 6. Cook 50 min.

Tip: the stew keeps in the fridge for 4 days and freezes well for up to 2 months.
"""
TRIP = """# Walking holiday, Lake District

Guide: Tom Brierley
Meet: Keswick bus station, 9:30

## Plan
Day 1: Arrive in Keswick, short walk round Derwentwater
Day 2: Catbells ridge and lunch in Grange
Day 3: Rest day (boat trip on the lake)
Day 4: Helvellyn by Striding Edge

## Kit
Bring boots and a waterproof.
"""


def test_a_duration_of_the_neighbouring_clause_is_no_answer() -> None:
    assert first_line(ask(STEW, "How long can the stew be frozen?", reply="4 days")) != "4 days"
    assert first_line(ask(STEW, "How long can the stew be frozen?", reply="2 months")) == "2 months"
    assert first_line(ask(STEW, "How long does the stew keep in the fridge?", reply="4 days")) == "4 days"
    assert first_line(ask(STEW, "How long does the stew keep in the fridge?", reply="2 months")) != "2 months"


def test_numbered_label_lines_are_units_of_their_own() -> None:
    units, _ = split_units([("trip.md", TRIP)])
    days = [u["text"] for u in units if u["text"].startswith("Day ")]
    assert days == [line for line in TRIP.split("\n") if line.startswith("Day ")]
    # the next line's label is no number of the rest day's line
    assert first_line(ask(TRIP, "On which day is the rest day?", reply="4")) != "4"
    assert first_line(ask(TRIP, "On which day is the boat trip?", reply="3")) == "3"


# F4: a value question whose line says where the value is gets no place as its value.
HOUSE = """House notes for Priya

The alarm code is in the blue envelope.
The bins go out on Tuesday night.
Bike lock combination: 4471.
"""


def test_where_a_value_is_kept_is_not_the_value() -> None:
    answer = ask(HOUSE, "What is the alarm code?", reply="blue envelope")
    assert "blue envelope" not in first_line(answer)
    assert first_line(ask(HOUSE, "What is the bike lock combination?", reply="4471")) == "4471"


def test_a_where_question_still_takes_the_place() -> None:
    assert "envelope" in first_line(ask(HOUSE, "Where is the alarm code?", reply="in the blue envelope"))
