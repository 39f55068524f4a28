"""The Arabic dictionary's recording script: each token, the word recorded for it (Arabic
script) and its transliteration. lang_ar.py explains which forms are needed and why."""

from __future__ import annotations

_TABLE = """
0 | صِفْر | ṣifr
1 | وَاحِد | wāḥid
2 | اِثْنَان | ithnān
3 | ثَلَاثَة | thalātha
4 | أَرْبَعَة | arbaʿa
5 | خَمْسَة | khamsa
6 | سِتَّة | sitta
7 | سَبْعَة | sabʿa
8 | ثَمَانِيَة | thamāniya
9 | تِسْعَة | tisʿa
10 | عَشَرَة | ʿashara
3_construct | ثَلَاثَةُ | thalāthat | the tāʾ said: ثلاثةُ آلاف، ثلاثةَ عشر
4_construct | أَرْبَعَةُ | arbaʿat
5_construct | خَمْسَةُ | khamsat
6_construct | سِتَّةُ | sittat
7_construct | سَبْعَةُ | sabʿat
8_construct | ثَمَانِيَةُ | thamāniyat
9_construct | تِسْعَةُ | tisʿat
10_construct | عَشَرَةُ | ʿasharat | as in عشرةُ آلاف
11 | أَحَدَ عَشَرَ | aḥada ʿashar
12 | اِثْنَا عَشَرَ | ithnā ʿashar
teen | عَشَرَ | ʿashar | the ten of 13-19: ثلاثةَ عَشَرَ
20 | عِشْرُون | ʿishrūn
30 | ثَلَاثُون | thalāthūn
40 | أَرْبَعُون | arbaʿūn
50 | خَمْسُون | khamsūn
60 | سِتُّون | sittūn
70 | سَبْعُون | sabʿūn
80 | ثَمَانُون | thamānūn
90 | تِسْعُون | tisʿūn
100 | مِئَة | miʾa
200 | مِئَتَان | miʾatān
300 | ثَلَاثُمِئَة | thalāthumiʾa
400 | أَرْبَعُمِئَة | arbaʿumiʾa
500 | خَمْسُمِئَة | khamsumiʾa
600 | سِتُّمِئَة | sittumiʾa
700 | سَبْعُمِئَة | sabʿumiʾa
800 | ثَمَانِمِئَة | thamānimiʾa
900 | تِسْعُمِئَة | tisʿumiʾa
100_construct | مِئَةُ | miʾat | as in مئةُ ألف، مئةُ درهم
200_construct | مِئَتَا | miʾatā | as in مئتا ألف
300_construct | ثَلَاثُمِئَةِ | thalāthumiʾat
400_construct | أَرْبَعُمِئَةِ | arbaʿumiʾat
500_construct | خَمْسُمِئَةِ | khamsumiʾat
600_construct | سِتُّمِئَةِ | sittumiʾat
700_construct | سَبْعُمِئَةِ | sabʿumiʾat
800_construct | ثَمَانِمِئَةِ | thamānimiʾat
900_construct | تِسْعُمِئَةِ | tisʿumiʾat
thousand | أَلْف | alf
thousand_acc | أَلْفًا | alfan
thousand_dual | أَلْفَان | alfān
thousand_dual_construct | أَلْفَا | alfā | as in ألفا درهم
thousands | آلَاف | ālāf
million | مِلْيُون | milyūn
million_acc | مِلْيُونًا | milyūnan
million_dual | مِلْيُونَان | milyūnān
million_dual_construct | مِلْيُونَا | milyūnā | as in مليونا درهم
millions | مَلَايِين | malāyīn
wa | وَ | wa
minus | نَاقِص | nāqiṣ
point | فَاصِلَة | fāṣila
plus | زَائِد | zāʾid
dirham | دِرْهَم | dirham
dirham_dual | دِرْهَمَان | dirhamān
dirhams | دَرَاهِم | darāhim
dirham_acc | دِرْهَمًا | dirhaman
centime | سَنْتِيم | santīm
centime_dual | سَنْتِيمَان | santīmān
centimes | سَنْتِيمَات | santīmāt
centime_acc | سَنْتِيمًا | santīman
euro | يُورُو | yūrū
dollar | دُولَار | dūlār
dollar_dual | دُولَارَان | dūlārān
dollars | دُولَارَات | dūlārāt
dollar_acc | دُولَارًا | dūlāran
cent | سَنْت | sant
cent_dual | سَنْتَان | santān
cents | سَنْتَات | santāt
cent_acc | سَنْتًا | santan
first | فَاتِح | fātiḥ | the 1st of a month: فاتح ماي
january | يَنَايِر | yanāyir
february | فَبْرَايِر | fabrāyir
march | مَارِس | māris
april | أَبْرِيل | abrīl
may | مَاي | māy
june | يُونْيُو | yūnyu
july | يُولْيُوز | yūlyūz
august | غُشْت | ghusht
september | شُتَنْبِر | shutanbir
october | أُكْتُوبَر | uktūbar
november | نُونَبِر | nuwanbir
december | دُجَنْبِر | dujanbir
monday | الاِثْنَيْن | al-ithnayn
tuesday | الثُّلَاثَاء | ath-thulāthāʾ
wednesday | الأَرْبِعَاء | al-arbiʿāʾ
thursday | الخَمِيس | al-khamīs
friday | الجُمُعَة | al-jumuʿa
saturday | السَّبْت | as-sabt
sunday | الأَحَد | al-aḥad
"""


def _parse(table: str) -> dict[str, tuple[str, str]]:
    rows = (line.split(" | ") for line in table.strip().splitlines())
    return {row[0]: (row[1], row[2]) for row in rows}


WORDS: dict[str, tuple[str, str]] = _parse(_TABLE)
