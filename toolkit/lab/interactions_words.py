"""Word banks of the synthetic interaction logs (en / Latin-American es / fr).

Kept apart from the generator so the planted material can be read in one place. Every
bank that carries a planted difference (markers, openings, closings, register frames,
topic nouns) uses words that appear in no other bank, so a difference measured in the
text can only come from the profile that planted it. tests/toolkit/lab/test_interactions.py
checks the disjointness and the length limits the generator relies on.
"""

from __future__ import annotations

LANGUAGES: tuple[str, ...] = ("en", "es", "fr")

# --- profile values ---------------------------------------------------------------------
EDUCATION = ("primary", "secondary", "tertiary")
AGE_GROUPS = ("18-34", "35-54", "55+")
GENDERS = ("woman", "man")
REGIONS = ("north", "south", "east", "west", "centre")
# French PCS 2020 socio-professional groups 1-6 (the working population).
OCCUPATIONS = {
    "1": "agriculteurs exploitants (farmers)",
    "2": "artisans, commerçants, chefs d'entreprise (craft, trade, business owners)",
    "3": "cadres et professions intellectuelles supérieures (managers, professionals)",
    "4": "professions intermédiaires (intermediate occupations)",
    "5": "employés (clerical and service employees)",
    "6": "ouvriers (manual workers)",
}

# --- planted by education: a sentence-initial marker word and the sentence length -------
MARKERS = {
    "primary": {"en": ("simply", "basically"), "es": ("sencillamente", "básicamente"),
                "fr": ("simplement", "bref")},
    "secondary": {"en": ("usually", "typically"), "es": ("normalmente", "generalmente"),
                  "fr": ("normalement", "généralement")},
    "tertiary": {"en": ("notably", "arguably"), "es": ("notablemente", "ciertamente"),
                 "fr": ("notamment", "certes")},
}
# Inclusive range of words per body sentence (marker, clauses and modifiers included).
SENTENCE_WORDS = {"primary": (6, 8), "secondary": (11, 14), "tertiary": (18, 22)}

# --- planted by age group: register (pronoun/contractions), opening and closing ----------
REGISTER = {"18-34": "informal", "35-54": "formal", "55+": "formal"}
OPENINGS = {
    "18-34": {"en": ("Hey!", "Hi there!"), "es": ("¡Hola!", "¡Qué tal!"),
              "fr": ("Salut !", "Coucou !")},
    "35-54": {"en": ("Hello.", "Good morning."), "es": ("Buenos días.", "Buenas tardes."),
              "fr": ("Bonjour.", "Bonsoir.")},
    "55+": {"en": ("Dear user.", "Greetings."), "es": ("Estimado usuario.", "Distinguido usuario."),
            "fr": ("Madame, Monsieur.", "Cher usager.")},
}
CLOSINGS = {
    "18-34": {"en": ("Cheers!", "Take care!"), "es": ("¡Suerte!", "¡Ánimo!"),
              "fr": ("Bon courage !", "À plus !")},
    "35-54": {"en": ("Best wishes.", "All the best."), "es": ("Un saludo.", "Que le vaya bien."),
              "fr": ("Bonne journée.", "Bonne continuation.")},
    "55+": {"en": ("Kind regards.", "Yours sincerely."),
            "es": ("Atentamente.", "Reciba un cordial saludo."),
            "fr": ("Bien cordialement.", "Veuillez agréer mes salutations.")},
}
# Advice frames; {p} is the possessive (fr informal: ton/ta by noun), {n} the topic noun.
FRAMES = {
    "informal": {"en": ("don't forget your {n}", "it's worth checking your {n}",
                        "you'd better check your {n}"),
                 "es": ("no olvides tu {n}", "revisa bien tu {n}", "piensa en tu {n}"),
                 "fr": ("n'oublie pas {p} {n}", "pense à {p} {n}", "vérifie bien {p} {n}")},
    "formal": {"en": ("do not forget your {n}", "please review your {n}",
                      "kindly consider your {n}"),
               "es": ("no olvide su {n}", "revise bien su {n}", "piense en su {n}"),
               "fr": ("n'oubliez pas votre {n}", "pensez à votre {n}", "vérifiez bien votre {n}")},
}
# The words that tell the registers apart: lower-case tokens as `re.findall(r"[\w']+")` cuts them.
REGISTER_WORDS = {
    "informal": {"en": ("don't", "it's", "you'd"), "es": ("tu", "olvides", "revisa", "piensa"),
                 "fr": ("ton", "ta", "n'oublie", "pense", "vérifie")},
    "formal": {"en": ("not", "please", "kindly"), "es": ("su", "olvide", "revise", "piense"),
               "fr": ("votre", "n'oubliez", "pensez", "vérifiez")},
}

# --- planted by occupation: the noun of the advice sentence (topic) ----------------------
# fr nouns carry their informal possessive (ton/ta).
TOPIC_NOUNS = {
    "1": {"en": ("harvest", "tractor", "livestock", "orchard"),
          "es": ("cosecha", "tractor", "ganado", "huerto"),
          "fr": (("récolte", "ta"), ("tracteur", "ton"), ("bétail", "ton"), ("verger", "ton"))},
    "2": {"en": ("shop", "workshop", "invoice", "supplier"),
          "es": ("tienda", "taller", "factura", "proveedor"),
          "fr": (("boutique", "ta"), ("atelier", "ton"), ("facture", "ta"), ("fournisseur", "ton"))},
    "3": {"en": ("project", "strategy", "meeting", "portfolio"),
          "es": ("proyecto", "estrategia", "reunión", "cartera"),
          "fr": (("projet", "ton"), ("stratégie", "ta"), ("réunion", "ta"), ("portefeuille", "ton"))},
    "4": {"en": ("team", "training", "planning", "classroom"),
          "es": ("equipo", "formación", "planificación", "aula"),
          "fr": (("équipe", "ton"), ("formation", "ta"), ("planning", "ton"), ("classe", "ta"))},
    "5": {"en": ("office", "contract", "timetable", "payslip"),
          "es": ("oficina", "contrato", "horario", "nómina"),
          "fr": (("bureau", "ton"), ("contrat", "ton"), ("horaire", "ton"), ("salaire", "ton"))},
    "6": {"en": ("factory", "shift", "machine", "helmet"),
          "es": ("fábrica", "turno", "máquina", "casco"),
          "fr": (("usine", "ton"), ("poste", "ton"), ("machine", "ta"), ("casque", "ton"))},
}

# --- shared by every profile: questions, answer clauses, fillers --------------------------
TOPICS = ("transport", "housing", "health", "work", "environment", "digital")
SYSTEM = {
    "en": "You are a helpful assistant answering the questions of survey respondents.",
    "es": "Eres un asistente que responde a las preguntas de personas encuestadas.",
    "fr": "Vous êtes un assistant qui répond aux questions des personnes interrogées.",
}
QUESTIONS = {
    "en": {
        "transport": ("What do you think about public transport in my city?",
                      "Is it better to take the bus or the car to work?",
                      "How could I make my daily commute cheaper?"),
        "housing": ("Is it a good time to buy a flat?", "How can I lower my rent?",
                    "What should I check before signing a lease?"),
        "health": ("How often should I see a doctor?", "What can I do to sleep better?",
                   "Is it worth paying for private health insurance?"),
        "work": ("How can I ask my employer for a raise?", "Should I change jobs this year?",
                 "How do I balance work and family life?"),
        "environment": ("Does recycling really make a difference?",
                        "How can my household use less energy?",
                        "Is it worth installing solar panels?"),
        "digital": ("How can I protect my personal data online?",
                    "Should my children use social media?", "Is online banking safe?"),
    },
    "es": {
        "transport": ("¿Qué opinas del transporte público en mi ciudad?",
                      "¿Es mejor ir al trabajo en autobús o en carro?",
                      "¿Cómo puedo ahorrar en mis traslados diarios?"),
        "housing": ("¿Es buen momento para comprar un departamento?",
                    "¿Cómo puedo pagar menos de renta?",
                    "¿Qué debo revisar antes de firmar un arriendo?"),
        "health": ("¿Cada cuánto debo ir al médico?", "¿Qué puedo hacer para dormir mejor?",
                   "¿Vale la pena pagar un seguro médico privado?"),
        "work": ("¿Cómo le pido un aumento a mi jefe?", "¿Debería cambiar de empleo este año?",
                 "¿Cómo equilibro el trabajo y la vida familiar?"),
        "environment": ("¿Reciclar realmente hace una diferencia?",
                        "¿Cómo puede mi hogar gastar menos energía?",
                        "¿Vale la pena instalar paneles solares?"),
        "digital": ("¿Cómo protejo mis datos personales en internet?",
                    "¿Mis hijos deberían usar redes sociales?", "¿Es segura la banca en línea?"),
    },
    "fr": {
        "transport": ("Que pensez-vous des transports en commun dans ma ville ?",
                      "Vaut-il mieux aller au travail en bus ou en voiture ?",
                      "Comment payer moins cher mes trajets quotidiens ?"),
        "housing": ("Est-ce le bon moment pour acheter un appartement ?",
                    "Comment réduire mon loyer ?",
                    "Que faut-il vérifier avant de signer un bail ?"),
        "health": ("À quelle fréquence dois-je voir un médecin ?", "Que faire pour mieux dormir ?",
                   "Une mutuelle privée vaut-elle le coup ?"),
        "work": ("Comment demander une augmentation à mon employeur ?",
                 "Dois-je changer d'emploi cette année ?",
                 "Comment concilier travail et vie de famille ?"),
        "environment": ("Le recyclage change-t-il vraiment quelque chose ?",
                        "Comment mon foyer peut-il consommer moins d'énergie ?",
                        "Les panneaux solaires valent-ils le coup ?"),
        "digital": ("Comment protéger mes données personnelles en ligne ?",
                    "Mes enfants devraient-ils utiliser les réseaux sociaux ?",
                    "La banque en ligne est-elle sûre ?"),
    },
}
FOLLOW_UPS = {
    "en": ("Could you tell me more?", "What would you recommend in my case?",
           "Why do you say that?"),
    "es": ("¿Me puedes contar más?", "¿Qué me recomiendas en mi caso?", "¿Por qué lo dices?"),
    "fr": ("Pouvez-vous m'en dire plus ?", "Que me conseillez-vous dans mon cas ?",
           "Pourquoi dites-vous cela ?"),
}
# Answer clauses (at most 5 words each), per topic.
CLAUSES = {
    "en": {
        "transport": ("public transport saves money", "buses reduce city traffic",
                      "cycling keeps people healthy", "trains are often reliable"),
        "housing": ("rents vary a lot", "buying needs a solid budget",
                    "a lease protects both sides", "housing aid exists"),
        "health": ("regular checkups prevent problems", "sleep matters for health",
                   "insurance costs differ widely", "doctors give useful advice"),
        "work": ("salaries depend on experience", "changing jobs brings new skills",
                 "rest improves productivity", "negotiating requires preparation"),
        "environment": ("recycling reduces waste", "saving energy lowers bills",
                        "solar panels pay off slowly", "small habits add up"),
        "digital": ("strong passwords protect accounts", "privacy settings matter",
                    "online banking is mostly safe", "children need clear limits"),
    },
    "es": {
        "transport": ("el transporte público ahorra dinero", "los autobuses reducen el tráfico",
                      "la bicicleta mejora la salud", "los trenes suelen ser puntuales"),
        "housing": ("las rentas varían mucho", "comprar exige ahorrar bastante",
                    "el arriendo protege a ambos", "existen ayudas para la vivienda"),
        "health": ("los chequeos previenen problemas", "dormir bien es clave",
                   "los seguros cuestan distinto", "los médicos aconsejan bien"),
        "work": ("la experiencia sube los sueldos", "cambiar de empleo da habilidades",
                 "descansar mejora la productividad", "negociar requiere preparación"),
        "environment": ("reciclar reduce los residuos", "ahorrar energía baja las cuentas",
                        "los paneles solares se amortizan", "los pequeños hábitos suman"),
        "digital": ("las contraseñas fuertes protegen cuentas", "la privacidad importa mucho",
                    "pagar en línea es seguro", "los niños necesitan límites claros"),
    },
    "fr": {
        "transport": ("le bus coûte moins cher", "le vélo améliore la santé",
                      "les trains sont souvent ponctuels", "le tramway réduit la pollution"),
        "housing": ("les loyers varient beaucoup", "acheter demande de la préparation",
                    "le bail protège chacun", "des aides au logement existent"),
        "health": ("les bilans évitent des problèmes", "le sommeil compte beaucoup",
                   "les tarifs des mutuelles varient", "les médecins conseillent utilement"),
        "work": ("les salaires dépendent de l'expérience", "changer d'emploi apporte des compétences",
                 "le repos améliore la productivité", "négocier se prépare à l'avance"),
        "environment": ("le recyclage réduit les déchets", "les économies d'énergie comptent",
                        "les panneaux solaires se rentabilisent", "les petits gestes comptent"),
        "digital": ("les mots de passe protègent", "la confidentialité compte beaucoup",
                    "payer en ligne est sûr", "les enfants demandent des règles"),
    },
}
CONJUNCTIONS = {"en": ("and", "because", "so", "while"), "es": ("y", "porque", "pues", "aunque"),
                "fr": ("et", "car", "donc", "mais")}
# Sentence-final modifiers, any length 1-4 words; used to reach an exact sentence length.
MODIFIERS = {
    "en": ("today", "locally", "nowadays", "overall", "in practice", "at home", "over time",
           "for everyone", "in general", "in most cases", "for many people", "in many towns",
           "after some time", "according to recent surveys", "in the coming years",
           "for most families here"),
    "es": ("hoy", "localmente", "actualmente", "también", "hoy día", "en general", "para todos",
           "cada año", "sin duda", "en la práctica", "con el tiempo", "en muchos casos",
           "para muchas personas", "según las encuestas recientes", "en los próximos años",
           "para muchas familias aquí"),
    "fr": ("aujourd'hui", "localement", "actuellement", "aussi", "en pratique", "en général",
           "pour tous", "chaque année", "sans doute", "avec le temps", "dans certaines villes",
           "pour la plupart", "selon les enquêtes récentes", "dans les prochaines années",
           "au fil du temps", "pour beaucoup de familles"),
}
