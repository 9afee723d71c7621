"""Reference strings in each journal house style, written by hand from real NCBI records
(tests/fixtures/corpus/ncbi-efetch), link to those records; PDF damage does not stop them."""

from __future__ import annotations

import pytest

from pnet_pubmed.config import Settings
from pnet_pubmed.pipeline import link
from pnet_pubmed.store import Store

# (style, reference string, the PMID of the record it was written from)
STYLES = [
    ("Vancouver/NLM", "Kanwar P, Kowdley KV. Diagnosis and treatment of hereditary "
     "hemochromatosis: an update. Expert Rev Gastroenterol Hepatol. 2013;7(6):517-30.",
     "23985001"),
    ("AMA", "Greenlund IM, Carter JR. Sympathetic neural responses to sleep disorders and "
     "insufficiencies. Am J Physiol Heart Circ Physiol. 2022;322(3):H337-H349. "
     "doi:10.1152/ajpheart.00590.2021", "34995163"),
    ("APA 7", "Castiello, U. (2021). (Re)claiming plants in comparative psychology. Journal of "
     "Comparative Psychology, 135(1), 127–141. https://doi.org/10.1037/com0000239", "32496081"),
    ("Harvard", "Borodina, I., Kenny, L.C., McCarthy, C.M. et al. (2020) 'The biology of "
     "ergothioneine, an antioxidant nutraceutical', Nutrition Research Reviews, 33(2), "
     "pp. 190–217.", "32051057"),
    ("Chicago author-date", "Zhang, Yanping, Ju Wang, Lina Li, and Yurui Sun. 2010. \u201cThree "
     "Common GJB2 Mutations Causing Nonsyndromic Hearing Loss in Chinese Populations Are "
     "Retained in the Endoplasmic Reticulum.\u201d Acta Oto-Laryngologica 130 (7): 799\u2013803.",
     "20095872"),
    ("BioMed Central", "Lerro CC, Beane Freeman LE, DellaValle CT, Kibriya MG: Occupational "
     "pesticide exposure and subclinical hypothyroidism among male pesticide applicators. "
     "Occup Environ Med 2018, 75:79-89.", "28775130"),
    ("BioMed Central", "Singh TR, Gupta A, Suravajhala P: Challenges in the miRNA research. "
     "Int J Bioinform Res Appl 2013, 9(6):576-583.", "24084238"),
    ("Nature", "Hogan, J. I. et al. Remdesivir resistance in transplant recipients with "
     "persistent coronavirus disease 2019. Clin. Infect. Dis. 76, 342–345 (2023).", "36156117"),
    ("Nature", "Bogren, A., Hunt, G. & Petersen, M. A. Rethinking intoxicated sexual encounters. "
     "Drugs (Abingdon Engl.) 30, 31–41 (2023).", "37065682"),
    ("Springer", "Uysal C, Oguz H, Cifci H, Kocyigit I (2024) Widespread form of Majocchi's "
     "granuloma in a kidney transplant recipient. CEN Case Rep 13:552–556", "38763967"),
    ("Springer (physics)", "Baker, M.A., Kanani, A., Hindenburg, A., Taub, R.N., et al.: Changes "
     "in the granulocyte membrane following chemotherapy for chronic myelogenous leukaemia. "
     "Br. J. Haematol. 62, 431–438 (1986)", "3456789"),
    ("Cell Press", "Savadipour, A., Palmer, D., Ely, E.V., Collins, K.H., et al. (2023). The role "
     "of PIEZO ion channels in the musculoskeletal system. Am. J. Physiol. Cell Physiol. 324, "
     "C728–C740.", "36717101"),
    ("Cell (older)", "Shuker DE, Margison GP: Nitrosated glycine derivatives as a potential "
     "source of O6-methylguanine in DNA. Cancer Res 57: 366-369; 1997.", "9012456"),
    ("Elsevier numbered", "[12] P. Kanwar, K.V. Kowdley, Diagnosis and treatment of hereditary "
     "hemochromatosis: an update, Expert Rev. Gastroenterol. Hepatol. 7 (2013) 517–530.",
     "23985001"),
    ("Elsevier name-year", "Liao, M.Z., Leipold, D.D., Chen, S.-C., Li, Z., 2024. Translational "
     "PK/PD framework for antibody-drug conjugates to inform drug discovery and development. "
     "Xenobiotica 54, 543–551.", "38738473"),
    ("Science", "M. D. Park, J. Le Berichel, P. Hamon, C. M. Wilk, Hematopoietic aging promotes "
     "cancer by fueling IL-1\u237a-driven emergency myelopoiesis. Science 386, eadn0327 (2024).",
     "39236155"),
    ("PNAS", "Zhang Y, et al. (2010) Three common GJB2 mutations causing nonsyndromic hearing "
     "loss in Chinese populations are retained in the endoplasmic reticulum. Acta Otolaryngol "
     "130(7):799–803.", "20095872"),
    ("PLOS", "Seal A, Gupta A, Mahalaxmi M, Aykkal R, et al. Tools, resources and databases for "
     "SNPs and indels in sequences: a review. Int J Bioinform Res Appl. 2014;10(3):264–296. "
     "https://doi.org/10.1504/IJBRA.2014.060762 PMID: 24794070", "24794070"),
    ("Royal Society", "Bui AD, Truong A, Pasricha ND, Indaram M. 2023 Keratoconus diagnosis and "
     "treatment: recent advances and future directions. Clin. Ophthalmol. 17, 2705–2718. "
     "(doi:10.2147/OPTH.S392665)", "37736107"),
    ("Royal Society", "Liao H, Li X, Zhou Y, Wu Y. 2023 Biomonitoring, exposure routes and risk "
     "assessment of chlorinated paraffins in humans: a mini-review. Environ. Sci. Process. "
     "Impacts 25, 1588–1603.", "37655634"),
    ("Wiley", "Rinaldo P, O'Shea JJ, Welch RD, Tanaka K (1990) The enzymatic basis for the "
     "dehydrogenation of 3-phenylpropionic acid: in vitro reaction of 3-phenylpropionyl-CoA "
     "with various acyl-CoA dehydrogenases. Pediatr Res 27, 501–507.", "2345678"),
    ("Wiley", "Thorpe, S., Dogan, J. N., Townes, A., & Malone, N. (2021). Black women's pleasure "
     "mapping. Journal of Black Sexuality and Relationships, 7(4), 1–23.", "39479534"),
    ("author reply", "Zeng GC, Zannis-Hadjopoulos M, Ozer HL, Hand R: Defective DNA "
     "topoisomerase I activity in a DNAts mutant of Balb/3T3 cells. Somat Cell Mol Genet 1985, "
     "11 (6):557-569, author reply 570.", "3000000"),
]

# What PDF extraction does to the same strings: words split at line ends, a name broken,
# italics (the journal) lost into the title's sentence.
PDF_DAMAGED = [
    ("Lerro CC, Beane Freeman LE, DellaValle CT, Kibriya MG: Occupational pesti- cide exposure "
     "and subclinical hypo- thyroidism among male pesticide applicators. Occup Environ Med "
     "2018, 75:79-89.", "28775130"),
    ("Zhang, Y., Wang, J., Li, L. & Sun, Y. Three common GJB2 mutations causing nonsyndromic "
     "hearing loss in Chinese populations are retained in the endoplas- mic reticulum. Acta "
     "Oto- laryngol. 130, 799–803 (2010).", "20095872"),
    ("Greenlund IM, Carter JR (2022) Sympathetic neural responses to sleep disorders and "
     "insufficiencies Am J Physiol Heart Circ Physiol 322:H337-H349", "34995163"),
]


def _link(tmp_path, eutils, lines: list[str]):
    source = tmp_path / "list.txt"
    source.write_text("\n".join(f"{i}. {line}" for i, line in enumerate(lines, 1)) + "\n",
                      encoding="utf-8")
    settings = Settings.from_env()
    summary = link(source, "styles", settings)
    return summary, Store(settings.db_url).references("styles")


def test_every_house_style_links_to_its_record(tmp_path, eutils):
    summary, rows = _link(tmp_path, eutils, [s for _, s, _ in STYLES])
    outcome = {(style, row["status"], row["pmid"], want)
               for (style, _, want), row in zip(STYLES, rows, strict=True)}
    wrong = [o for o in outcome if o[1] != "matched" or o[2] != o[3]]
    assert not wrong
    # Requests stay batched: one ECitMatch, one ESearch, one EFetch (the printed DOIs are
    # checked in the ESearch round).
    assert summary.stats.sent <= 3


def test_pdf_damage_does_not_stop_a_link(tmp_path, eutils):
    _, rows = _link(tmp_path, eutils, [s for s, _ in PDF_DAMAGED])
    assert [(r["status"], r["pmid"]) for r in rows] == [("matched", p) for _, p in PDF_DAMAGED]


@pytest.mark.parametrize("style, text, pmid", STYLES, ids=[s for s, _, _ in STYLES])
def test_each_style_is_read_with_its_year_volume_and_page(style, text, pmid):
    from pnet_pubmed.references import parse_reference_list

    c = parse_reference_list(text)[0]
    readings = c.readings
    assert any(r.year and r.volume and r.first_page and r.title and r.first_author
               for r in readings), (style, readings)
