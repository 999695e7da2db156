"""Khmer names with their usual Latin spellings, for the synthetic generator.

Khmer names are written family name first; women keep their maiden names (reference
programmes.md d.5). Latin family names are upper case, as on ID cards.
"""

from __future__ import annotations

SURNAMES: tuple[tuple[str, str], ...] = (
    ("ចាន់", "CHAN"), ("សុខ", "SOK"), ("កែវ", "KEO"), ("លឹម", "LIM"), ("ម៉ៅ", "MAO"),
    ("ហេង", "HENG"), ("ឡុង", "LONG"), ("ឈឹម", "CHHIM"), ("សៅ", "SAO"), ("ស៊ុន", "SUN"),
    ("ជា", "CHEA"), ("ហ៊ុន", "HUN"), ("ពេជ្រ", "PECH"), ("ម៉ម", "MOM"), ("អ៊ុក", "OUK"),
    ("នៅ", "NOV"), ("ទេព", "TEP"), ("ខៀវ", "KHIEU"), ("ស៊ឹម", "SIM"), ("យឹម", "YIM"),
    ("ព្រំ", "PROM"), ("មាស", "MEAS"), ("ឈួន", "CHHUON"), ("ពៅ", "POV"), ("សេង", "SENG"),
    ("ងួន", "NGUON"), ("ឯក", "EK"), ("គង់", "KONG"), ("តាំង", "TANG"), ("ទូច", "TOUCH"),
    ("វង្ស", "VONG"), ("ឃឹម", "KHIM"), ("ហួរ", "HOUR"), ("ប៊ុន", "BUN"), ("អ៊ុំ", "UM"),
    ("សយ", "SOY"), ("ម៉ែន", "MEN"), ("ភួង", "PHOUNG"), ("រស់", "ROS"), ("យ៉ុន", "YON"),
)

MALE_GIVEN: tuple[tuple[str, str], ...] = (
    ("ដារ៉ា", "Dara"), ("វណ្ណៈ", "Vannak"), ("រតនា", "Rathana"), ("វិចិត្រ", "Vichet"),
    ("សុផល", "Sophal"), ("វិបុល", "Vibol"), ("សំណាង", "Samnang"), ("ពិសិដ្ឋ", "Piseth"),
    ("រិទ្ធី", "Rithy"), ("សុវណ្ណ", "Sovann"), ("បូរ៉ា", "Bora"), ("វុទ្ធី", "Vuthy"),
    ("កុសល", "Kosal"), ("ណារិទ្ធ", "Narith"), ("ចំរើន", "Chamroeun"), ("សុធា", "Sothea"),
    ("សារ៉ាត", "Sarath"), ("ពិសាល", "Pisal"), ("វីរៈ", "Virak"), ("សម្បត្តិ", "Sambath"),
    ("ធារ៉ា", "Theara"), ("វាសនា", "Veasna"), ("ចន្ថា", "Chantha"), ("សុភ័ក្រ", "Sopheak"),
    ("ម៉េងលី", "Mengly"), ("ប៊ុនធឿន", "Bunthoeun"), ("សុខុម", "Sokhom"), ("ភក្តី", "Pheakdey"),
    ("វិសាល", "Visal"), ("ឧត្តម", "Oudom"),
)

FEMALE_GIVEN: tuple[tuple[str, str], ...] = (
    ("សុខា", "Sokha"), ("ស្រីនាង", "Sreyneang"), ("ចិន្តា", "Chenda"), ("សុភាព", "Sopheap"),
    ("ស្រីពៅ", "Sreypov"), ("ម៉ាលី", "Maly"), ("បុប្ផា", "Bopha"), ("ចាន់ធី", "Chanthy"),
    ("សុភី", "Sophy"), ("ធីតា", "Thida"), ("ស្រីល័ក្ខ", "Sreyleak"), ("រស្មី", "Reaksmey"),
    ("ស្រីមុំ", "Sreymom"), ("សុវណ្ណារី", "Sovannary"), ("នារី", "Neary"), ("កញ្ញា", "Kanha"),
    ("ស្រីនិច", "Sreynich"), ("លីដា", "Lida"), ("សុគន្ធា", "Sokunthea"), ("ចរិយា", "Chariya"),
    ("សុធារី", "Sotheary"), ("វណ្ណា", "Vanna"), ("ផល្លា", "Phalla"), ("ស្រីអូន", "Sreyoun"),
    ("ដាវី", "Davy"), ("សុម៉ាលី", "Somaly"), ("ពិសី", "Pisey"), ("មករា", "Makara"),
    ("រចនា", "Rachana"), ("គន្ធា", "Kunthea"),
)
